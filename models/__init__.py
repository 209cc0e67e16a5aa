"""The examples' models: installed as ``mesa_adage.examples.models``."""

if __name__ != "mesa_adage.examples.models":  # a second copy would define every class twice
    raise ImportError(f"import mesa_adage.examples.models, not {__name__!r}")
