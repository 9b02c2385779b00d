"""The interactive app (`latentzoo app`): trained models on a web page, built with Gradio.

`showcase` puts the models to work on one picture at a time (no Gradio); `ui` lays that out as a
page and serves it on 127.0.0.1.
"""

from .showcase import Showcase
from .ui import build, serve

__all__ = ["Showcase", "build", "serve"]
