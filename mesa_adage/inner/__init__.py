"""The inner layer: a Mesa model whose agents act through shared, theta-conditioned policies.

The adaptive model and its agents (``model``, ``agent``, ``adapt``, ``observation``,
``columns``), the contract checks (``guards``), the policies, and the three ways to run
episodes: SB3 training (``vec_env``, ``training``, ``followers``), lockstep evaluation
(``rollout``) and the PettingZoo view (``pettingzoo_env``).
"""
