"""The outer layer.

The leaders that choose theta, the objectives they maximise, and the
evaluator that scores candidate thetas with frozen followers.
"""
