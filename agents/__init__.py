"""The examples' agents: installed as ``mesa_adage.examples.agents``."""

if __name__ != "mesa_adage.examples.agents":  # a second copy would define every class twice
    raise ImportError(f"import mesa_adage.examples.agents, not {__name__!r}")
