# GradLab: PyInstaller's own hook for this module, less the Qt plugins and translations the app
# does not use (gradlab_qt.py beside this file keeps the list). A hook in the spec's hookspath
# replaces the built-in hook of the same module.
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from gradlab_qt import trimmed
from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = trimmed(*add_qt6_dependencies(__file__))
