"""The models the notebooks look inside, online (pretrained, downloaded once) or offline (shipped in ``hwlib.data``).

Every loader returns the model frozen (eval mode, parameter gradients off) on the requested device.
"""
from .squeezenet import LoadedModel, freeze, load_squeezenet, offline_provenance

__all__ = ["LoadedModel", "freeze", "load_squeezenet", "offline_provenance"]
