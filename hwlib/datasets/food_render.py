"""Drawing the synthetic Food-11 images: one dish on a plate on a table, in 11 visually distinct classes.

Each class has its own geometry, colours and texture (a loaf with slashes, a cheese wedge with holes, a layered cake
slice, a fried egg, fries, a grilled steak, wavy noodles, grainy rice, a fish, a bowl of soup, round fruits with
leaves); the table, the plate and the dish's position, size, rotation and colour jitter are random and shared by
every class, so a classifier has to look at the food. Everything is drawn from ``np.random.default_rng([seed,
index])``: image ``index`` of ``seed`` is the same whatever else is drawn.

Coordinates: pixel centres; a dish's frame ``(u, v)`` is centred on it, rotated, in units of its radius ``r`` (px).
Shapes are signed distances in those units (negative inside), turned into a one-pixel anti-aliased alpha.
"""
from __future__ import annotations

import numpy as np

from .shape_sdfs import box, convex_polygon

Array = np.ndarray


def _alpha(dist: Array, r: float) -> Array:
    """Coverage in [0, 1] of a shape with signed distance ``dist`` (in units of ``r`` pixels)."""
    return np.clip(0.5 - dist * r, 0.0, 1.0)


def _paint(img: Array, alpha: Array, colour) -> None:
    """Composite ``colour`` ((3,) or (H, W, 3)) over ``img`` (H, W, 3) with coverage ``alpha`` (H, W), in place."""
    img += alpha[..., None].astype(np.float32) * (np.asarray(colour, dtype=np.float32) - img)


def _jitter(rng, rgb, amount: float = 0.06) -> Array:
    return np.clip(np.asarray(rgb) + rng.uniform(-amount, amount, 3), 0.0, 1.0)


def _wobble(u: Array, v: Array, rng, radius: float, amount: float) -> Array:
    """A disc of ``radius`` whose edge wobbles by up to ``amount`` (two random harmonics)."""
    theta = np.arctan2(v, u)
    k, phases = rng.integers(3, 6), rng.uniform(0, 2 * np.pi, 2)
    edge = radius + amount * (0.6 * np.sin(k * theta + phases[0]) + 0.4 * np.sin((k + 2) * theta + phases[1]))
    return np.hypot(u, v) - edge


def _cells(u: Array, v: Array, rng, cell: float):
    """Per-pixel coordinates relative to a jittered point in each ``cell``-sized square, and a random value per
    cell: (du, dv, angle), all (H, W)."""
    ix, iy = np.floor(u / cell).astype(int), np.floor(v / cell).astype(int)
    table = rng.uniform(size=(3, 64, 64))
    jx, jy, angle = (t[iy % 64, ix % 64] for t in table)
    du = u - (ix + 0.25 + 0.5 * jx) * cell
    dv = v - (iy + 0.25 + 0.5 * jy) * cell
    return du, dv, angle * np.pi


def bread(img, u, v, r, rng):
    loaf = box(u, v, 0.78, 0.42) - 0.18                                   # rounded rectangle
    top = np.clip(1.0 - 0.35 * (u**2 + 2 * v**2), 0.6, 1.0)[..., None]
    _paint(img, _alpha(loaf, r), _jitter(rng, (0.78, 0.5, 0.24)) * top)
    along = (u - v) / np.sqrt(2)
    slashes = np.abs(np.mod(along + 0.25, 0.5) - 0.25) - 0.045            # three light cuts across the top
    cuts = np.maximum(slashes, np.maximum(loaf + 0.16, np.abs(along) - 0.7))
    _paint(img, _alpha(cuts, r), _jitter(rng, (0.95, 0.84, 0.6)))


def dairy_product(img, u, v, r, rng):
    wedge = convex_polygon(u, v, [(-0.9, 0.65), (0.95, 0.65), (0.95, 0.2), (-0.9, -0.75)][::-1])
    _paint(img, _alpha(wedge, r), _jitter(rng, (0.98, 0.86, 0.36)))
    for _ in range(rng.integers(5, 9)):
        cx, cy = rng.uniform(-0.5, 0.85), rng.uniform(-0.05, 0.5)
        hole = np.maximum(np.hypot(u - cx, v - cy) - rng.uniform(0.06, 0.13), wedge + 0.03)
        _paint(img, _alpha(hole, r), _jitter(rng, (0.84, 0.64, 0.18), 0.03))


def dessert(img, u, v, r, rng):
    slice_ = convex_polygon(u, v, [(-1.0, 0.0), (0.9, -0.6), (0.9, 0.6)])
    layers = (np.mod(v * 3.2 + 10, 1.0) < 0.5)[..., None]                 # pink cream / sponge bands
    colour = np.where(layers, _jitter(rng, (0.95, 0.55, 0.68)), _jitter(rng, (0.97, 0.88, 0.66)))
    _paint(img, _alpha(slice_, r), colour)
    _paint(img, _alpha(np.hypot(u - 0.68, v) - 0.17, r), _jitter(rng, (0.8, 0.05, 0.1), 0.04))  # cherry


def egg(img, u, v, r, rng):
    _paint(img, _alpha(_wobble(u, v, rng, 0.92, 0.1), r), _jitter(rng, (0.99, 0.98, 0.94), 0.02))
    cx, cy = rng.uniform(-0.2, 0.2, 2)
    _paint(img, _alpha(np.hypot(u - cx, v - cy) - 0.36, r), _jitter(rng, (1.0, 0.68, 0.08), 0.04))
    _paint(img, 0.6 * _alpha(np.hypot(u - cx + 0.12, v - cy + 0.12) - 0.08, r), (1.0, 0.95, 0.8))


def fried_food(img, u, v, r, rng):
    for _ in range(rng.integers(6, 10)):
        angle, (cx, cy) = rng.uniform(0, np.pi), rng.uniform(-0.55, 0.55, 2)
        c, s = np.cos(angle), np.sin(angle)
        a, b = c * (u - cx) + s * (v - cy), -s * (u - cx) + c * (v - cy)
        stick = box(a, b, rng.uniform(0.45, 0.7), 0.075) - 0.03
        shade = np.clip(1.0 - 0.25 * np.abs(a), 0.7, 1.0)[..., None]      # darker ends
        _paint(img, _alpha(stick, r), _jitter(rng, (0.96, 0.74, 0.28)) * shade)


def meat(img, u, v, r, rng):
    steak = _wobble(u / 1.15, v, rng, 0.78, 0.08)
    _paint(img, _alpha(steak, r), _jitter(rng, (0.52, 0.17, 0.12), 0.05))
    fat = np.maximum(np.maximum(steak, -steak - 0.14), -(u - 0.25))        # a pale rim on one side
    _paint(img, _alpha(fat, r), _jitter(rng, (0.94, 0.88, 0.78), 0.03))
    grill = np.maximum(np.abs(np.mod(u + v + 10, 0.42) - 0.21) - 0.16, steak + 0.18)
    _paint(img, 0.8 * _alpha(-grill + 0.12, r) * (steak < -0.18), (0.22, 0.07, 0.04))


def noodles(img, u, v, r, rng):
    mound = _wobble(u, v, rng, 0.9, 0.06)
    freq, phase = rng.uniform(5.0, 7.0), rng.uniform(0, 2 * np.pi)
    strands = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (u + 0.12 * np.sin(2 * np.pi * 1.4 * v + phase)))
    colour = strands[..., None] * _jitter(rng, (0.98, 0.87, 0.48)) + (1 - strands[..., None]) * (0.78, 0.62, 0.3)
    _paint(img, _alpha(mound, r), colour)
    if rng.uniform() < 0.5:                                               # tomato sauce
        _paint(img, 0.9 * _alpha(_wobble(u - 0.1, v + 0.1, rng, 0.35, 0.05), r), _jitter(rng, (0.82, 0.16, 0.1)))


def rice(img, u, v, r, rng):
    mound = _wobble(u, v, rng, 0.85, 0.05)
    _paint(img, _alpha(mound, r), _jitter(rng, (0.86, 0.85, 0.8), 0.03))
    du, dv, angle = _cells(u, v, rng, 0.15)
    a, b = np.cos(angle) * du + np.sin(angle) * dv, -np.sin(angle) * du + np.cos(angle) * dv
    grain = np.maximum(np.hypot(a / 0.075, b / 0.035) - 1.0, 0.0) * 0.035 + np.maximum(mound, 0)
    _paint(img, _alpha(grain - 0.01, r), _jitter(rng, (0.99, 0.99, 0.96), 0.01))


def seafood(img, u, v, r, rng):
    colour = _jitter(rng, (0.62, 0.67, 0.75) if rng.uniform() < 0.5 else (0.96, 0.56, 0.42))
    body = np.hypot((u + 0.15) / 0.8, v / 0.4) - 1.0
    tail = convex_polygon(u, v, [(0.55, 0.0), (1.05, -0.45), (1.05, 0.45)])
    _paint(img, _alpha(np.minimum(body * 0.4, tail), r), colour)
    scales = 0.85 + 0.15 * (np.sin(14 * u) * np.sin(14 * v) > 0)
    _paint(img, 0.5 * _alpha(body * 0.4 + 0.05, r), colour * scales[..., None])
    _paint(img, _alpha(np.hypot(u + 0.68, v + 0.08) - 0.07, r), (0.05, 0.05, 0.08))  # eye


def soup(img, u, v, r, rng):
    _paint(img, _alpha(np.hypot(u, v) - 1.0, r), _jitter(rng, (0.9, 0.9, 0.88), 0.1))          # bowl
    broth = [(0.85, 0.5, 0.2), (0.55, 0.66, 0.3), (0.78, 0.24, 0.14)][rng.integers(3)]
    _paint(img, _alpha(np.hypot(u, v) - 0.78, r), _jitter(rng, broth))
    for _ in range(rng.integers(4, 8)):
        cx, cy = rng.uniform(-0.5, 0.5, 2)
        bit = np.hypot(u - cx, v - cy) - rng.uniform(0.05, 0.1)
        _paint(img, _alpha(bit, r), _jitter(rng, (0.3, 0.6, 0.2) if rng.uniform() < 0.5 else (0.97, 0.95, 0.85)))
    rim = np.maximum(np.abs(np.hypot(u, v) - 0.89) - 0.025, -(u + v) / np.sqrt(2) - 0.3)
    _paint(img, 0.7 * _alpha(rim, r), (1.0, 1.0, 1.0))                    # highlight on the rim


def vegetable_fruit(img, u, v, r, rng):
    palette = [(0.86, 0.12, 0.1), (0.42, 0.76, 0.2), (1.0, 0.58, 0.08)]
    for k in range(rng.integers(2, 5)):
        angle = 2 * np.pi * k / 4 + rng.uniform(-0.4, 0.4)
        cx, cy, rad = 0.45 * np.cos(angle), 0.45 * np.sin(angle), rng.uniform(0.33, 0.45)
        _paint(img, _alpha(np.hypot(u - cx, v - cy) - rad, r), _jitter(rng, palette[rng.integers(3)], 0.05))
        _paint(img, 0.5 * _alpha(np.hypot(u - cx + 0.35 * rad, v - cy + 0.35 * rad) - 0.22 * rad, r), (1, 1, 1))
        leaf = np.hypot((u - cx - 0.15) / 0.16, (v - cy + rad) / 0.07) - 1.0
        _paint(img, _alpha(leaf * 0.07, r), _jitter(rng, (0.15, 0.5, 0.12), 0.04))


#: Food-11's classes in label order, and how to draw each.
DISHES = {
    "bread": bread, "dairy product": dairy_product, "dessert": dessert, "egg": egg, "fried food": fried_food,
    "meat": meat, "noodles/pasta": noodles, "rice": rice, "seafood": seafood, "soup": soup,
    "vegetable/fruit": vegetable_fruit,
}


def _table(rng, size: int) -> Array:
    """A table top (H, W, 3) in [0, 1]: wood grain, a checked cloth or a plain surface, in a muted colour."""
    t = (np.arange(size) + 0.5) / size
    x, y = t[None, :], t[:, None]
    base = rng.uniform(0.25, 0.75, 3) * rng.uniform(0.7, 1.0)
    kind = rng.integers(3)
    if kind == 0:                                                         # wood
        theta = rng.uniform(0, np.pi)
        along = x * np.cos(theta) + y * np.sin(theta)
        grain = 0.5 + 0.5 * np.sin(2 * np.pi * (rng.uniform(6, 14) * along + 0.6 * np.sin(5 * (x - y))))
        field = 0.8 + 0.2 * grain
    elif kind == 1:                                                       # checked cloth
        f = rng.uniform(4, 10)
        field = 0.75 + 0.25 * ((np.floor(f * x) + np.floor(f * y)) % 2)
    else:
        field = np.ones((size, size))
    return np.clip(base * field[..., None] * np.ones((size, size, 1)), 0.0, 1.0).astype(np.float32)


def render_dish(label: int, seed: int, index: int, size: int = 128) -> Array:
    """Image ``index`` of ``seed``, showing a dish of class ``label``: uint8 (size, size, 3)."""
    rng = np.random.default_rng([seed, index, label])
    img = _table(rng, size)
    grid = np.arange(size) + 0.5
    px, py = grid[None, :], grid[:, None]
    plate_c = size * (0.5 + rng.uniform(-0.05, 0.05, 2))
    plate_r = size * rng.uniform(0.42, 0.49)
    plate_colour = _jitter(rng, [(0.95, 0.95, 0.95), (0.96, 0.92, 0.82), (0.82, 0.88, 0.96)][rng.integers(3)], 0.03)
    d_plate = (np.hypot(px - plate_c[0], py - plate_c[1]) - plate_r) / plate_r
    _paint(img, _alpha(d_plate, plate_r), plate_colour * 0.9)
    _paint(img, _alpha(d_plate + 0.12, plate_r), plate_colour)          # rim
    r = size * rng.uniform(0.23, 0.3)
    centre = plate_c + rng.uniform(-0.15, 0.15, 2) * plate_r
    angle = rng.uniform(0, 2 * np.pi)
    dx, dy = (px - centre[0]) / r, (py - centre[1]) / r
    u, v = np.cos(angle) * dx + np.sin(angle) * dy, -np.sin(angle) * dx + np.cos(angle) * dy
    list(DISHES.values())[label](img, u, v, r, rng)
    img += np.float32(rng.uniform(0.0, 0.025)) * rng.standard_normal(img.shape, dtype=np.float32)
    return np.round(np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)
