import pytest

from mi_probe._deps import has, require
from mi_probe._progress import progress


def test_require_names_the_extra():
    assert has("numpy") and not has("surely_not_a_module_xyz")
    with pytest.raises(ModuleNotFoundError, match="pip install 'surely_not_a_module_xyz'"):
        require("surely_not_a_module_xyz", "testing")


def test_progress_yields_everything(capsys):
    assert list(progress(range(5), desc="t", min_interval=0.0)) == list(range(5))
    assert "5/5" in capsys.readouterr().err
    assert list(progress(iter(range(3)), enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""
