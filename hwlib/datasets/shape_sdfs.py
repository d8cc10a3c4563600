"""Signed distance functions of the synthetic dataset's object classes.

Every function takes object-frame coordinates ``x, y`` (float arrays of any one shape, the object's "radius" is 1,
y pointing down as in images) and returns the signed distance to the shape's outline, in the same units: negative
inside, positive outside. Some are exact (circle, box, ring), others a bound that is exact near the outline, which is
all the anti-aliasing and the masks need. Formulas after Inigo Quilez, "2D distance functions"
(https://iquilezles.org/articles/distfunctions2d/).
"""
from __future__ import annotations

import numpy as np


def circle(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A disc of radius 0.95."""
    return np.hypot(x, y) - 0.95


def box(x: np.ndarray, y: np.ndarray, half_w: float, half_h: float) -> np.ndarray:
    """An axis-aligned rectangle centred on the origin with half sides ``half_w`` x ``half_h`` (exact)."""
    qx, qy = np.abs(x) - half_w, np.abs(y) - half_h
    return np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)


def convex_polygon(x: np.ndarray, y: np.ndarray, vertices) -> np.ndarray:
    """A convex polygon given by its vertices, ordered with a positive signed area (counter-clockwise when y
    points up): the largest signed distance to the edges' supporting lines."""
    v = np.asarray(vertices, dtype=np.float64)
    d = np.full(np.broadcast(x, y).shape, -np.inf)
    for (ax, ay), (bx, by) in zip(v, np.roll(v, -1, axis=0)):
        ex, ey = bx - ax, by - ay
        nx, ny = ey, -ex  # outward normal for this vertex order
        norm = np.hypot(nx, ny)
        d = np.maximum(d, ((x - ax) * nx + (y - ay) * ny) / norm)
    return d


def regular_polygon(x: np.ndarray, y: np.ndarray, sides: int, radius: float) -> np.ndarray:
    """A regular polygon with circumradius ``radius`` and one vertex on the +x axis."""
    angles = 2 * np.pi * np.arange(sides) / sides
    return convex_polygon(x, y, np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1))


def square(x, y):
    """A square with half side 0.75 (the rotation makes every orientation, diamond included, a square)."""
    return box(x, y, 0.75, 0.75)


def triangle(x, y):
    """An equilateral triangle with circumradius 1.05, centred on its centroid."""
    return regular_polygon(x, y, 3, 1.05)


def hexagon(x, y):
    """A regular hexagon with circumradius 0.95."""
    return regular_polygon(x, y, 6, 0.95)


def star(x, y, points: int = 5, inner: float = 0.42):
    """A ``points``-pointed star with outer radius 1 and inner radius ``inner``: the angle is folded into one
    half-spike, where the outline is the segment from the tip (1, 0) to the inner vertex."""
    half = np.pi / points
    a = np.abs(np.mod(np.arctan2(y, x) + half, 2 * half) - half)  # in [0, half]
    r = np.hypot(x, y)
    qx, qy = r * np.cos(a) - 1.0, r * np.sin(a)  # relative to the tip
    ex, ey = inner * np.cos(half) - 1.0, inner * np.sin(half)  # tip -> inner vertex
    t = np.clip((qx * ex + qy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
    dist = np.hypot(qx - t * ex, qy - t * ey)
    inside = ex * qy - ey * qx > 0  # same side of the edge as the centre
    return np.where(inside, -dist, dist)


def plus(x, y):
    """A plus sign: two crossed bars 1.9 long and 0.6 wide."""
    return np.minimum(box(x, y, 0.95, 0.3), box(x, y, 0.3, 0.95))


def ring(x, y):
    """An annulus between radii 0.55 and 0.95."""
    return np.abs(np.hypot(x, y) - 0.75) - 0.2


def crescent(x, y):
    """A disc of radius 0.95 with a bite (radius 0.8, centre 0.5 to the right) taken out, shifted to be centred."""
    x = x - 0.3
    return np.maximum(np.hypot(x, y) - 0.95, -(np.hypot(x - 0.55, y) - 0.8))


def heart(x, y):
    """A heart with its tip down, about 2 wide and 1.9 high (Quilez's exact heart, rescaled)."""
    s = 0.56
    px, py = np.abs(x) * s, (1.0 - y) * s - 0.03  # y down -> y up, tip near y = +1 in image coordinates
    top = np.hypot(px - 0.25, py - 0.75) - np.sqrt(2) / 4
    m = 0.5 * np.maximum(px + py, 0.0)
    low = np.sqrt(np.minimum(px**2 + (py - 1.0) ** 2, (px - m) ** 2 + (py - m) ** 2)) * np.sign(px - py)
    return np.where(px + py > 1.0, top, low) / s


def arrow(x, y):
    """An arrow pointing to +x: a shaft 1.1 long and 0.4 wide under a triangular head 0.9 long and 1.3 wide."""
    head = convex_polygon(x, y, [(1.0, 0.0), (0.1, 0.65), (0.1, -0.65)])
    return np.minimum(head, box(x + 0.4, y, 0.55, 0.2))


#: Class name -> signed distance function, in label order.
SHAPES = {
    "circle": circle, "square": square, "triangle": triangle, "star": star, "plus": plus,
    "ring": ring, "hexagon": hexagon, "crescent": crescent, "heart": heart, "arrow": arrow,
}
