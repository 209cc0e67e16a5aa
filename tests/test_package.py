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
