import importlib
import subprocess
import sys

import mesa_adage


def test_importing_the_library_leaves_plotting_alone():
    code = (
        "import matplotlib; matplotlib.use('svg'); import mesa_adage, sys; "
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_public_api_resolves():
    missing = [name for name in mesa_adage.__all__ if not hasattr(mesa_adage, name)]
    assert not missing


def test_the_top_level_is_small_and_older_names_still_work():
    assert len(mesa_adage.__all__) <= 15
    assert not set(mesa_adage.__all__) & set(mesa_adage.MOVED)
    for name, module in mesa_adage.MOVED.items():  # each lives where MOVED says
        assert hasattr(importlib.import_module(module), name), (name, module)
    code = (
        "import warnings; warnings.simplefilter('error'); import mesa_adage\n"
        "try:\n    mesa_adage.MesaVecEnv\nexcept DeprecationWarning as w:\n    print(w)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    expected = "mesa_adage.MesaVecEnv moved: import it from mesa_adage.inner.vec_env"
    assert out.stdout.strip() == expected, out
