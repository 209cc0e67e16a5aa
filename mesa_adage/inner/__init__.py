"""The inner layer: a Mesa model whose agents act through shared, theta-conditioned policies.

The adaptive model and its agents (``model``, ``agent``, ``adapt``, ``observation``,
``columns``), the contract checks (``checks``), the Mesa workaround applied where a model is
built (``agent_ids``), the policies, and the ways to run episodes: SB3 training (``vec_env``,
``training``, ``followers``), lockstep evaluation (``rollout``), the gymnasium view
(``joint_env``) and the PettingZoo view (``pettingzoo_env``).
"""
