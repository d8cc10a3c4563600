"""Every figure the notebooks draw, one module per figure family:

- :mod:`hwlib.plotting.digits`: digits, logit gradients, gradient ascent, the confused-logit callback's figure (01);
- :mod:`hwlib.plotting.saliency`: saliency maps, fooling images, class-visualization progress (02);
- :mod:`hwlib.plotting.adversarial`: predictions, adversarial pairs, robustness curves, class difficulty (03);
- :mod:`hwlib.plotting.explanations`: images with rows of explanations, LIME, segment numbering (04);
- :mod:`hwlib.plotting.embeddings`: similarity matrices, sense similarity per layer, PCA of hidden states (05).

``from hwlib.plotting import show_saliency_maps`` keeps working (this was the module of notebook 02's figures);
the old modules ``hwlib.plotting_digits``, ``plotting_adversarial``, ``plotting_explanations`` and ``plotting_bert``
are aliases of the modules here. Every function draws a new figure and returns it; none calls ``plt.show()``.
"""
from . import adversarial, digits, embeddings, explanations, saliency
from .saliency import show_class_visualization_progress, show_fooling_image, show_saliency_maps

__all__ = ["show_saliency_maps", "show_fooling_image", "show_class_visualization_progress",
           "adversarial", "digits", "embeddings", "explanations", "saliency"]
