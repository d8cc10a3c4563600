"""Example bodies for notebook 04's checks: ``WRONG`` (every function wrong: the ``wrong`` example scores 0),
``ONE_BUG`` (one realistic bug), and ``VARIANTS``: known-correct ways of writing a function (HW9's per-sample loops,
a mean instead of a sum, code written for Colab's GPU) that must keep full marks, and known-wrong ones (HW9's own
defects) with the checks they must lose. Each body replaces the function's ``### BEGIN/END SOLUTION`` region.

The quiz has no variants here: a variant would have to spell out the key, which lives only in the solution.
"""
from __future__ import annotations

from ..check import Variant

# ---------------------------------------------------------------------------------------------------- compute_saliency_maps
SALIENCY_HW9_INPLACE = """\
x.requires_grad_()                                    # HW9: switches on requires_grad of the caller's tensor
loss = torch.nn.CrossEntropyLoss()(model(x), y)
loss.backward()
saliencies, _ = torch.max(x.grad.abs().detach(), dim=1)
saliencies = torch.stack([(s - s.min()) / (s.max() - s.min()) for s in saliencies])"""

SALIENCY_MEAN_LOSS = """\
x = x.detach().clone().requires_grad_(True)
loss = F.cross_entropy(model(x), y)                   # mean over the batch: every gradient / N, same maps
(grad,) = torch.autograd.grad(loss, x)
saliencies = grad.abs().amax(dim=1)
saliencies = torch.stack([(s - s.min()) / (s.max() - s.min()) for s in saliencies])"""

SALIENCY_LOGIT = """\
x = x.detach().clone().requires_grad_(True)
scores = model(x)
(grad,) = torch.autograd.grad(scores.gather(1, y.view(-1, 1)).sum(), x)   # a logit, not the loss
saliencies = grad.abs().amax(dim=1)
saliencies = torch.stack([(s - s.min()) / (s.max() - s.min()) for s in saliencies])"""

SALIENCY_COLAB = """\
x = x.detach().clone().cuda().requires_grad_(True)    # written for Colab's GPU
loss = F.cross_entropy(model.cuda()(x), y.cuda(), reduction="sum")
loss.backward()
saliencies = x.grad.abs().amax(dim=1)
low = saliencies.amin(dim=(1, 2), keepdim=True)
high = saliencies.amax(dim=(1, 2), keepdim=True)
saliencies = ((saliencies - low) / (high - low)).cpu()"""

# ------------------------------------------------------------------------------------------------------------ smooth_grad
SMOOTH_HW9_LOOP = """\
smooth = torch.zeros_like(x)
sigma = param_sigma_multiplier * (x.max() - x.min()).item()
for i in range(epoch):                                # HW9's loop, one noisy copy at a time, correct sigma
    noise = x.detach().new(x.size()).normal_(0, sigma)
    x_mod = (x.detach() + noise).unsqueeze(0).requires_grad_()
    loss = torch.nn.CrossEntropyLoss()(model(x_mod), torch.as_tensor(y, device=x.device).view(1))
    loss.backward()
    smooth += x_mod.grad.abs()[0]
smooth = smooth / epoch
smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())"""


def _smooth_with_sigma(sigma_line: str, std: str) -> str:
    return f"""\
x = x.detach()
{sigma_line}
target = torch.as_tensor(y, device=x.device).reshape(1)
noisy = (x + torch.randn((epoch, *x.shape), device=x.device) * {std}).requires_grad_(True)
(grad,) = torch.autograd.grad(F.cross_entropy(model(noisy), target.expand(epoch), reduction="sum"), noisy)
smooth = grad.abs().mean(dim=0)
smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min()).clamp_min(1e-12)"""


SMOOTH_HW9_SIGMA = _smooth_with_sigma("sigma = param_sigma_multiplier / (x.max() - x.min())  # HW9", "sigma ** 2")
SMOOTH_SIGMA_SQUARED = _smooth_with_sigma("sigma = param_sigma_multiplier * (x.max() - x.min())", "sigma ** 2")
SMOOTH_NO_RANGE = _smooth_with_sigma("sigma = param_sigma_multiplier  # ignores the image's range", "sigma")

# ----------------------------------------------------------------------------------------------------- filter_explanation
_FILTER_TEMPLATE = """\
captured = {{}}

def hook(module, inputs, output):
    captured["output"] = {store}

handle = model.cnn[cnnid].register_forward_hook(hook)
try:
    with torch.no_grad():
        model(x)
    filter_activations = captured["output"][:, filterid].detach()
    image = {start}.requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    for _ in range(iteration):
        optimizer.zero_grad()
        model(image)
        objective = -captured["output"][:, filterid].{reduce}()
        objective.backward()
        optimizer.step()
    filter_visualizations = image.detach()
finally:
    {remove}"""


def _filter(store="output.clone()", start="torch.rand_like(x)", reduce="sum", remove="handle.remove()") -> str:
    return _FILTER_TEMPLATE.format(store=store, start=start, reduce=reduce, remove=remove)


FILTER_HW9 = """\
global layer_activations                              # HW9: a global, real images, hook removed only at the end
def hook(model, input, output):
    global layer_activations
    layer_activations = output
hook_handle = model.cnn[cnnid].register_forward_hook(hook)
model(x.cuda())
filter_activations = layer_activations[:, filterid, :, :].detach().cpu()
x = x.cuda()
x.requires_grad_()
optimizer = torch.optim.Adam([x], lr=lr)
for iter in range(iteration):
    optimizer.zero_grad()
    model(x)
    objective = -layer_activations[:, filterid, :, :].sum()
    objective.backward()
    optimizer.step()
filter_visualizations = x.detach().cpu().squeeze()
hook_handle.remove()"""

# --------------------------------------------------------------------------------------------------- IntegratedGradients
IG_HW9 = """\
xbar_list = [input_image * step / steps for step in range(steps)]   # HW9: alpha 0 .. (m-1)/m
integrated_grads = torch.zeros_like(input_image)
for xbar in xbar_list:
    xbar = xbar.detach().requires_grad_(True)
    output = self.model(xbar)
    one_hot = torch.zeros_like(output)
    one_hot[0][target_class] = 1
    output.backward(gradient=one_hot)
    integrated_grads = integrated_grads + xbar.grad / steps           # never times (x - baseline)
integrated_grads = integrated_grads[0]"""

IG_HW9_INPLACE = """\
input_image.requires_grad = True                      # HW9 sets it on the caller's tensor; the maths is right here
total = torch.zeros_like(input_image)
for k in range(1, steps + 1):
    path = (k / steps * input_image.detach()).requires_grad_(True)
    self.model(path)[0, target_class].backward()
    total += path.grad
integrated_grads = (input_image.detach() * total / steps)[0]"""

IG_LOOP = """\
x = input_image.detach()
total = torch.zeros_like(x)
for k in range(1, steps + 1):                         # one path image at a time (HW9's structure), correct maths
    path = (k / steps * x).requires_grad_(True)
    score = self.model(path)[0, target_class]
    (grad,) = torch.autograd.grad(score, path)
    total += grad
integrated_grads = (x * total / steps)[0]"""

IG_COLAB = """\
x = input_image.detach().cuda()                       # written for Colab's GPU
total = torch.zeros_like(x)
for k in range(1, steps + 1):
    path = (k / steps * x).cuda().requires_grad_(True)
    one_hot = torch.zeros(1, 11).cuda()
    one_hot[0][target_class] = 1
    self.model.cuda()(path).backward(gradient=one_hot)
    total += path.grad
integrated_grads = (x * total / steps)[0].cpu()"""

IG_LEFT = """\
x = input_image.detach()
alphas = torch.arange(0, steps, device=x.device, dtype=x.dtype) / steps     # 0 .. (m-1)/m: left Riemann sum
path = (alphas.view(-1, 1, 1, 1) * x).requires_grad_(True)
(grad,) = torch.autograd.grad(self.model(path)[:, target_class].sum(), path)
integrated_grads = (x * grad.mean(dim=0, keepdim=True))[0]"""

WRONG = {
    "compute_saliency_maps": """\
x.requires_grad_()
loss = torch.nn.functional.cross_entropy(model(x), y)
loss.backward()
saliencies = x.grad.sum(dim=1)  # signed sum over the channels, not normalised""",
    "smooth_grad": """\
x.requires_grad_()
loss = F.cross_entropy(model(x.unsqueeze(0)), torch.as_tensor(y, device=x.device).view(1))
loss.backward()
smooth = x.grad  # one signed gradient: no noise, no average, no normalisation""",
    "filter_explanation": """\
def hook(module, inputs, output):
    model.saved = output
model.cnn[cnnid + 1].register_forward_hook(hook)   # the wrong layer, never removed
model(x)
filter_activations = model.saved[:, filterid].detach()
x.requires_grad_()
optimizer = torch.optim.Adam([x], lr=lr)
for _ in range(iteration):
    optimizer.zero_grad()
    model(x)
    model.saved[:, filterid].sum().backward()       # descends instead of ascending
    optimizer.step()
filter_visualizations = x.detach()""",
    "IntegratedGradients": IG_HW9.replace("xbar = xbar.detach().requires_grad_(True)",
                                          "input_image.requires_grad = True\n    xbar = xbar.detach().requires_grad_(True)"),
    "ANSWERS": "ANSWERS = {}  # nothing answered",
}

ONE_BUG = {"smooth_grad": SMOOTH_HW9_SIGMA}

VARIANTS = {
    "saliency_mean_loss": Variant({"compute_saliency_maps": SALIENCY_MEAN_LOSS}, (),
                                  "HW9's CrossEntropyLoss() averages over the batch: the normalisation hides it"),
    "saliency_hw9_inplace": Variant({"compute_saliency_maps": SALIENCY_HW9_INPLACE}, ("saliency_input_untouched",),
                                    "HW9's x.requires_grad_() on the caller's tensor; the maps are right"),
    "saliency_logit": Variant({"compute_saliency_maps": SALIENCY_LOGIT}, ("saliency_reference",),
                              "notebook 02's logit gradient instead of HW9's loss gradient"),
    "smooth_grad_hw9_loop": Variant({"smooth_grad": SMOOTH_HW9_LOOP}, (),
                                    "HW9's per-sample loop with the correct noise: another random stream, same mean"),
    "smooth_grad_hw9_sigma": Variant({"smooth_grad": SMOOTH_HW9_SIGMA}, ("smooth_grad_statistics",),
                                     "HW9's sigma = multiplier / range, then sigma**2 as the standard deviation"),
    "smooth_grad_sigma_squared": Variant({"smooth_grad": SMOOTH_SIGMA_SQUARED}, ("smooth_grad_statistics",),
                                         "sigma**2 passed as the standard deviation"),
    "smooth_grad_no_range": Variant({"smooth_grad": SMOOTH_NO_RANGE}, ("smooth_grad_statistics",),
                                    "the multiplier used as the standard deviation, ignoring the image's range"),
    "filter_mean_objective": Variant({"filter_explanation": _filter(reduce="mean")}, (),
                                     "the mean activation instead of the sum (Adam is scale-invariant)"),
    "filter_real_images": Variant({"filter_explanation": _filter(start="x.detach().clone()")},
                                  ("filter_visualization_from_noise",),
                                  "optimises a copy of the real images (HW9's code) instead of noise"),
    "filter_no_clone": Variant({"filter_explanation": _filter(store="output")}, ("filter_activations_cloned",),
                               "keeps the hook's output without clone(): the in-place ReLU overwrites cnn[7]'s"),
    "filter_hook_left": Variant({"filter_explanation": _filter(remove="pass")}, ("filter_hooks_removed",),
                                "never removes the hook"),
    "filter_hw9": Variant({"filter_explanation": FILTER_HW9},
                          ("filter_activations_cloned", "filter_visualization_from_noise", "filter_input_untouched"),
                          "HW9's code verbatim in spirit: global, no clone, real images changed in place"),
    "ig_loop": Variant({"IntegratedGradients": IG_LOOP}, (), "one path image at a time"),
    "ig_hw9_inplace": Variant({"IntegratedGradients": IG_HW9_INPLACE}, ("ig_input_untouched",),
                              "correct maths, but requires_grad switched on for the caller's tensor"),
    "ig_left_riemann": Variant({"IntegratedGradients": IG_LEFT}, ("ig_reference",),
                               "alpha = 0 .. (m-1)/m with x (Captum's riemann_left): complete, not the notebook's sum"),
    "ig_hw9": Variant({"IntegratedGradients": IG_HW9}, ("ig_reference", "ig_completeness"),
                      "HW9's average path gradient: alpha 0 .. (m-1)/m and no (x - baseline)"),
    "colab_cuda": Variant({"compute_saliency_maps": SALIENCY_COLAB, "IntegratedGradients": IG_COLAB}, (),
                          "written for Colab (.cuda() calls): the device shim runs it on a CPU grader"),
}
