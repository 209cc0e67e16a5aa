"""The run machinery.

The experiment spec, the alternating loop, the run folder, checkpoints,
snapshots and the executors that run training and evaluation tasks.
"""
