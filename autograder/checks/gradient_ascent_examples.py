"""Example bodies for notebook 01's checks (the example generator reads them through ``ASSIGNMENT``): ``WRONG``
(every function wrong: the ``wrong`` example scores 0), ``ONE_BUG`` (the batch mean in ``logit_gradient``) and
``VARIANTS`` (known-correct ways that keep full marks, known-wrong ones with the checks each loses)."""
from __future__ import annotations

from ..check import Variant


_INPUT_CHECK = """\
if not isinstance(images, torch.Tensor) or not torch.is_floating_point(images):
    raise TypeError("images: expected a float tensor (N, C, H, W)")
if images.dim() != 4:
    raise ValueError(f"images: expected shape (N, C, H, W), got {tuple(images.shape)}")
if not isinstance(targets, torch.Tensor) or tuple(targets.shape) != (images.shape[0],):
    raise ValueError("targets: expected one class per image, shape (N,)")
"""
_TARGET_CHECK = """\
if bool((targets < 0).any()) or bool((targets >= logits.shape[1]).any()):
    raise ValueError(f"targets: expected class indices in [0, {logits.shape[1]})")
"""
_FORWARD = _INPUT_CHECK + """\
x = images.detach().clone().requires_grad_(True)
logits = model(x)
""" + _TARGET_CHECK


def _gradient_body(objective: str, after: str = "(grads,) = torch.autograd.grad(selected, x)") -> str:
    return _FORWARD + f"selected = {objective}\n{after}"


_ASCENT_CHECK = """\
if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[0] != 1:
    raise ValueError("image: expected one image of shape (1, C, H, W)")
with torch.no_grad():
    num_classes = model(image).shape[1]
if not 0 <= int(target) < num_classes:
    raise ValueError(f"target: expected a class index in [0, {num_classes})")
"""


def _ascent_body(step: str, keep: str = "trajectory", probabilities: str = "model(images).softmax(dim=1)",
                 check: str = _ASCENT_CHECK) -> str:
    return check + f"""\
x = image.detach().clone()
trajectory = [x]
for _ in range(steps):
    g = logit_gradient(model, x, torch.tensor([int(target)], device=x.device))
    x = {step}
    trajectory.append(x)
images = torch.cat({keep})
with torch.no_grad():
    probabilities = {probabilities}"""


_BACKWARD_ASCENT = _ASCENT_CHECK + """\
x = image.detach().clone().requires_grad_(True)
trajectory = [x.detach().clone()]
for _ in range(steps):
    model(x)[0, target].backward()
    with torch.no_grad():
        x += step_size * x.grad / x.grad.norm()
        x.clamp_(0, 1)
    @RESET@
    trajectory.append(x.detach().clone())
@AFTER@
images = torch.cat(trajectory)
with torch.no_grad():
    probabilities = torch.softmax(model(images), dim=1)"""

WRONG = {
    "logit_gradient": """\
images.requires_grad_(True)                       # the caller's tensor
probabilities = model(images).softmax(dim=1)      # probabilities, not logits
probabilities[:, targets].sum().backward()        # every target for every image; the weights get a .grad
grads = images.grad""",
    "gradient_ascent": """\
image.requires_grad_(True)
trajectory = []
for _ in range(steps):
    model(image)[0, target].backward()
    with torch.no_grad():
        image -= step_size * image.grad       # descends, raw gradient, .grad accumulates, modifies the caller's image
    trajectory.append(image.detach().clone())
images = torch.cat(trajectory)                # the start image left out
probabilities = model(images).detach()        # logits, not probabilities""",
}

ONE_BUG = {
    "logit_gradient": _gradient_body("logits.gather(1, targets.view(-1, 1)).mean()  # BUG: mean over the batch"),
}

VARIANTS = {
    # logit_gradient: correct ways
    "gradient_index_arange": Variant(
        {"logit_gradient": _gradient_body("logits[torch.arange(len(targets), device=logits.device), targets].sum()")},
        note="logits[arange(N), targets] instead of gather"),
    "gradient_one_hot_mask": Variant(
        {"logit_gradient": _gradient_body("(logits * torch.nn.functional.one_hot(targets, logits.shape[1])).sum()")},
        note="a one-hot mask instead of gather"),
    "gradient_backward_on_clone": Variant(
        {"logit_gradient": _gradient_body("logits.gather(1, targets.view(-1, 1)).sum()",
                                          "selected.backward()\ngrads = x.grad.detach()\n"
                                          "model.zero_grad(set_to_none=True)")},
        note=".backward() on a clone, then the weights' .grad set back to None"),
    "gradient_loop_per_image": Variant(
        {"logit_gradient": _INPUT_CHECK + """\
grads = torch.zeros_like(images)
for n in range(images.shape[0]):
    x = images[n:n + 1].detach().clone().requires_grad_(True)
    logits = model(x)
    if not 0 <= int(targets[n]) < logits.shape[1]:
        raise ValueError("targets: expected class indices in [0, num_classes)")
    (g,) = torch.autograd.grad(logits[0, targets[n]], x)
    grads[n] = g[0]"""},
        note="one image at a time (slower, still right)"),
    # logit_gradient: wrong ways
    "gradient_backward_leaves_weight_grads": Variant(
        {"logit_gradient": _gradient_body("logits.gather(1, targets.view(-1, 1)).sum()",
                                          "selected.backward()\ngrads = x.grad.detach()")},
        loses=("gradient_params_untouched",), note=".backward() fills every weight's .grad"),
    "gradient_caller_requires_grad": Variant(
        {"logit_gradient": _INPUT_CHECK + """\
images.requires_grad_(True)
logits = model(images)
""" + _TARGET_CHECK + """\
(grads,) = torch.autograd.grad(logits.gather(1, targets.view(-1, 1)).sum(), images)"""},
        loses=("gradient_input_untouched",), note="switches on the caller's requires_grad"),
    "gradient_predicted_class": Variant(
        {"logit_gradient": _gradient_body("logits.gather(1, logits.argmax(dim=1, keepdim=True)).sum()")},
        loses=("gradient_batch", "gradient_single", "gradient_any_shape"), note="the predicted class, not the target"),
    "gradient_softmax_probability": Variant(
        {"logit_gradient": _gradient_body("logits.softmax(dim=1).gather(1, targets.view(-1, 1)).sum()")},
        loses=("gradient_batch", "gradient_single", "gradient_any_shape"), note="the probability, not the logit"),
    "gradient_cross_entropy": Variant(
        {"logit_gradient": _gradient_body("torch.nn.functional.cross_entropy(logits, targets, reduction='sum')")},
        loses=("gradient_batch", "gradient_single", "gradient_any_shape"), note="a loss, not the logit"),
    "gradient_sum_of_all_logits": Variant(
        {"logit_gradient": _gradient_body("logits.sum()")},
        loses=("gradient_batch", "gradient_single", "gradient_any_shape"), note="every logit of every image"),
    "gradient_every_target_for_every_image": Variant(
        {"logit_gradient": _gradient_body("logits[:, targets].sum()")},
        loses=("gradient_batch", "gradient_any_shape"),
        note="pl_bolts' bug: logits[:, targets] (right for one image only)"),
    "gradient_hard_coded_28x28": Variant(
        {"logit_gradient": _gradient_body("logits.gather(1, targets.view(-1, 1)).sum()",
                                          "(grads,) = torch.autograd.grad(selected, x)\n"
                                          "grads = grads.view(images.shape[0], 1, 28, 28)")},
        loses=("gradient_any_shape",), note="reshapes to 1x28x28 (pl_bolts' view(batch, w, h))"),
    "gradient_no_validation": Variant(
        {"logit_gradient": """\
x = images.detach().clone().requires_grad_(True)
(grads,) = torch.autograd.grad(model(x).gather(1, targets.view(-1, 1)).sum(), x)"""},
        loses=("gradient_errors",), note="no input checks"),
    # gradient_ascent: correct ways
    "ascent_inline_probabilities_in_loop": Variant(
        {"gradient_ascent": _ASCENT_CHECK + """\
x = image.detach().clone()
trajectory, rows = [], []
for k in range(steps + 1):
    x = x.detach().requires_grad_(True)
    logits = model(x)
    trajectory.append(x.detach())
    rows.append(logits.detach().softmax(dim=1))
    if k == steps:
        break
    (g,) = torch.autograd.grad(logits[0, target], x)
    with torch.no_grad():
        x = torch.clamp(x + step_size * g / torch.linalg.vector_norm(g), 0, 1)
images = torch.cat(trajectory)
probabilities = torch.cat(rows)"""},
        note="differentiates inline and computes each probability inside the loop"),
    "ascent_backward_in_place": Variant(
        {"gradient_ascent": _BACKWARD_ASCENT.replace("@RESET@", "x.grad = None").replace(
            "@AFTER@", "model.zero_grad(set_to_none=True)")},
        note=".backward() with in-place updates, .grad reset every step, weights' .grad set back to None"),
    "ascent_normalize_functional": Variant(
        {"gradient_ascent": _ascent_body(
            "(x + step_size * torch.nn.functional.normalize(g.flatten(), dim=0).view_as(g)).clamp(0, 1)")},
        note="F.normalize for the unit step"),
    # gradient_ascent: wrong ways
    "ascent_descends": Variant(
        {"gradient_ascent": _ascent_body("(x - step_size * g / g.norm()).clamp(0, 1)")},
        loses=("ascent_steps",), note="subtracts the gradient"),
    "ascent_raw_gradient": Variant(
        {"gradient_ascent": _ascent_body("(x + step_size * g).clamp(0, 1)")},
        loses=("ascent_steps",), note="the seed article's unnormalized step"),
    "ascent_no_clip": Variant(
        {"gradient_ascent": _ascent_body("x + step_size * g / g.norm()")},
        loses=("ascent_steps",), note="pixels may leave [0, 1]"),
    "ascent_grad_accumulates": Variant(
        {"gradient_ascent": _BACKWARD_ASCENT.replace("    @RESET@\n", "").replace("@AFTER@\n", "")},
        loses=("ascent_steps", "ascent_params_untouched"), note=".backward() without resetting .grad"),
    "ascent_start_left_out": Variant(
        {"gradient_ascent": _ascent_body("(x + step_size * g / g.norm()).clamp(0, 1)", keep="trajectory[1:]")},
        loses=("ascent_start",), note="returns the images after each step only"),
    "ascent_logits_not_probabilities": Variant(
        {"gradient_ascent": _ascent_body("(x + step_size * g / g.norm()).clamp(0, 1)", probabilities="model(images)")},
        loses=("ascent_probabilities",), note="returns logits"),
    "ascent_modifies_caller_image": Variant(
        {"gradient_ascent": _ASCENT_CHECK + """\
image.requires_grad_(True)
trajectory = [image.detach().clone()]
for _ in range(steps):
    (g,) = torch.autograd.grad(model(image)[0, target], image)
    with torch.no_grad():
        image += step_size * g / g.norm()
        image.clamp_(0, 1)
    trajectory.append(image.detach().clone())
images = torch.cat(trajectory)
with torch.no_grad():
    probabilities = model(images).softmax(dim=1)"""},
        loses=("ascent_input_untouched",), note="steps the caller's image in place"),
    "ascent_no_validation": Variant(
        {"gradient_ascent": """\
x = image.detach().clone()
trajectory = [x]
for _ in range(steps):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(model(x)[0, target], x)
    x = (x + step_size * g / g.norm()).clamp(0, 1).detach()
    trajectory.append(x)
images = torch.cat(trajectory)
with torch.no_grad():
    probabilities = model(images).softmax(dim=1)"""},
        loses=("ascent_errors",), note="no input checks (and not through logit_gradient, which would check)"),
}
