# dmgbuild settings for the macOS disk image (see the release workflow):
#     dmgbuild -s installer/macos/dmg_settings.py -D app="dist/AIArt Desktop.app" \
#         "AIArt Desktop" dist/AIArt-Desktop-<version>-macos-arm64.dmg
# The window shows the app next to a link to /Applications: drag one onto the other.
# ruff: noqa
import os.path

application = defines.get("app", "dist/AIArt Desktop.app")  # noqa: F821 - set by dmgbuild
appname = os.path.basename(application)

format = "UDZO"  # zlib-compressed, read-only
compression_level = 9
filesystem = "HFS+"
size = None  # computed from the contents
files = [application]
symlinks = {"Applications": "/Applications"}
icon = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "icons",
                    "aiart-desktop.icns")
icon_locations = {appname: (150, 170), "Applications": (450, 170)}
background = "builtin-arrow"
window_rect = ((200, 160), (600, 380))
default_view = "icon-view"
show_status_bar = False
show_tab_view = False
show_toolbar = False
show_pathbar = False
show_sidebar = False
icon_size = 112
text_size = 13
