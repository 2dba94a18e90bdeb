"""dev8 images: the Dagger module that builds the Dev8 workspace images."""

from pipeline.main import Dev8 as Dev8
