"""SqueezeNet 1.1 (Iandola et al., 2016) as plain ``torch.nn`` modules, laid out exactly as torchvision's
``torchvision.models.squeezenet1_1`` (the same module tree, parameter names and forward pass), so torchvision's
ImageNet weights and hwlib's offline weights load into it unchanged.

Why not torchvision's: importing ``torchvision.models`` imports ``torch._dynamo`` (about 2.5 s of CPU on a small
machine), paid by every process that builds the model: each notebook kernel, the grader, its reference process and
every sandbox. ``tests/test_models.py`` compares this module with torchvision's, parameter by parameter and output by
output.
"""
from __future__ import annotations

import torch
from torch import nn


class Fire(nn.Module):
    """A squeeze 1x1 convolution, then 1x1 and 3x3 expand convolutions concatenated: ``(N, inplanes, H, W) ->
    (N, expand1x1_planes + expand3x3_planes, H, W)``."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int):
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1: ``(N, 3, H, W)`` images (H, W >= 17) -> ``(N, num_classes)`` scores. ``features`` holds the
    convolutional part (13 modules, indexed as in torchvision), ``classifier`` the dropout, the final 1x1
    convolution (``final_conv``), a ReLU and global average pooling."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(64, 16, 64, 64),
            Fire(128, 16, 64, 64),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(128, 32, 128, 128),
            Fire(256, 32, 128, 128),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(256, 48, 192, 192),
            Fire(384, 48, 192, 192),
            Fire(384, 64, 256, 256),
            Fire(512, 64, 256, 256),
        )
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def squeezenet1_1(num_classes: int = 1000) -> SqueezeNet:
    """An untrained SqueezeNet 1.1 with ``num_classes`` outputs (load weights with ``load_state_dict``)."""
    return SqueezeNet(num_classes)
