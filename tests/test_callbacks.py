"""ConfusedLogitCallback: per-sample gradients, nothing of the model disturbed, real Trainers of both Lightning
namespaces, figures read back from the TensorBoard event file, PNG files and one warning without TensorBoard."""
import importlib
import warnings

import pytest
import torch
from torch import nn

from hwlib.callbacks import ConfusedLogitCallback, find_confused
from hwlib.models.digits import digit_cnn
from hwlib.tensorboard_figures import read_logged_figures

NAMESPACES = ("pytorch_lightning", "lightning.pytorch")


def rgb_net(seed=0):
    """(N, 3, 32, 32) -> (N, 10), with batch norm and dropout (train and eval mode differ)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5),
                         nn.Flatten(), nn.Linear(8 * 16 * 16, 10))


def per_sample_gradient(model, x, cls):
    """d model(x[i:i+1])[0, cls] / d x[i], one sample at a time (the independent reference)."""
    xi = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xi)[0, cls], xi)
    return g[0]


@pytest.mark.parametrize("make_model, shape", [(digit_cnn, (16, 1, 28, 28)), (rgb_net, (16, 3, 32, 32))])
def test_gradients_are_each_samples_own(make_model, shape):
    """Each confused sample's two gradients equal the one-sample gradients of its own two top logits."""
    model = make_model()
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    found = find_confused(model, x, top_k=4, max_logit_difference=1e9)
    assert found.grads.shape == (4, 2, *shape[1:]) and found.classes.shape == (4, 2)
    model.eval()
    with torch.no_grad():
        logits = model(x)
    margins = (logits.topk(2, dim=1).values @ torch.tensor([1.0, -1.0]))
    torch.testing.assert_close(margins[found.index], margins.sort().values[:4])   # the 4 most confused, in order
    for k, i in enumerate(found.index.tolist()):
        assert found.classes[k].tolist() == logits[i].topk(2).indices.tolist()
        torch.testing.assert_close(found.logits[k], logits[i, found.classes[k]])
        for j in range(2):
            expected = per_sample_gradient(model, x[i:i + 1], int(found.classes[k, j]))
            torch.testing.assert_close(found.grads[k, j], expected, rtol=1e-4, atol=1e-7)


def test_selection_by_margin_and_min_logit():
    """Only samples within max_logit_difference qualify; min_logit_value gates per sample, not batch-wide."""
    model = nn.Sequential(nn.Flatten(), nn.Identity())
    logits = torch.tensor([[5.0, 4.95, 0.0],      # margin 0.05, confident
                           [0.3, 0.28, 0.0],      # margin 0.02, no opinion
                           [9.0, 1.0, 0.0]])      # margin 8: not confused
    x = logits.view(3, 1, 1, 3)
    found = find_confused(model, x, top_k=5, max_logit_difference=0.1)
    assert found.index.tolist() == [1, 0]
    found = find_confused(model, x, top_k=5, max_logit_difference=0.1, min_logit_value=4.0)
    assert found.index.tolist() == [0] and found.classes.tolist() == [[0, 1]]
    assert find_confused(model, x, top_k=5, max_logit_difference=0.01) is None


def test_model_is_left_exactly_as_it_was():
    """No parameter .grad is created or changed; every submodule keeps its own train/eval mode."""
    model = rgb_net()
    model.train()
    model[1].eval()                                    # a frozen batch-norm inside a training model
    model[5].weight.grad = torch.ones_like(model[5].weight)
    before = {n: m.training for n, m in model.named_modules()}
    find_confused(model, torch.rand(8, 3, 32, 32), top_k=3, max_logit_difference=1e9)
    assert {n: m.training for n, m in model.named_modules()} == before
    assert all(p.grad is None for n, p in model.named_parameters() if n != "5.weight")
    torch.testing.assert_close(model[5].weight.grad, torch.ones_like(model[5].weight))


def test_inference_mode_inputs():
    """Validation batches are inference tensors produced under torch.inference_mode: gradients still come out."""
    model = digit_cnn()
    with torch.inference_mode():
        x = torch.rand(6, 1, 28, 28)
        found = find_confused(model, x, top_k=2, max_logit_difference=1e9)
    assert found is not None and torch.isfinite(found.grads).all() and found.grads.abs().sum() > 0


def test_bad_inputs_are_clear_errors():
    """Wrong arguments and unusable batches name what was expected."""
    with pytest.raises(ValueError, match="top_k"):
        ConfusedLogitCallback(top_k=0)
    with pytest.raises(ValueError, match="logging_batch_interval"):
        ConfusedLogitCallback(logging_batch_interval=2.5)
    with pytest.raises(ValueError, match="max_logit_difference"):
        ConfusedLogitCallback(max_logit_difference=-1)
    with pytest.raises(ValueError, match=r"float tensor \(N, C, H, W\)"):
        find_confused(digit_cnn(), torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match=r"float tensor \(N, C, H, W\)"):
        find_confused(digit_cnn(), torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="num_classes"):
        find_confused(nn.Sequential(nn.Flatten(), nn.Linear(784, 1)), torch.zeros(2, 1, 28, 28))


# ------------------------------------------------------------------------------------------- real Trainers
def _lightning(namespace):
    pl = importlib.import_module(namespace)
    loggers = importlib.import_module(namespace + ".loggers")
    return pl, loggers


def _module_class(pl):
    class Classifier(pl.LightningModule):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return nn.functional.cross_entropy(self(x), y)

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", nn.functional.cross_entropy(self(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)
    return Classifier


class GradSpy(ConfusedLogitCallback):
    """Records, around every logging call, whether any parameter's .grad or any module's mode changed."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.disturbed = []

    def _log_batch(self, trainer, pl_module, batch, batch_idx, stage):
        grads = [None if p.grad is None else p.grad.clone() for p in pl_module.parameters()]
        modes = [m.training for m in pl_module.modules()]
        super()._log_batch(trainer, pl_module, batch, batch_idx, stage)
        after = [p.grad for p in pl_module.parameters()]
        self.disturbed.append(any((a is None) != (b is None) or (a is not None and not torch.equal(a, b))
                                  for a, b in zip(grads, after))
                              or modes != [m.training for m in pl_module.modules()])


def _fit(namespace, net, shape, logger, callback, tmp_path, batches=4):
    pl, _ = _lightning(namespace)
    gen = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.rand(batches * 8, *shape, generator=gen),
                                          torch.randint(0, 10, (batches * 8,), generator=gen))
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    trainer = pl.Trainer(max_epochs=1, logger=logger, callbacks=[callback], default_root_dir=tmp_path,
                         enable_checkpointing=False, enable_model_summary=False, enable_progress_bar=False,
                         num_sanity_val_steps=0, accelerator="cpu", devices=1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*log_every_n_steps.*")
        trainer.fit(_module_class(pl)(net), loader, loader)
    return trainer


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("make_net, shape", [(digit_cnn, (1, 28, 28)), (rgb_net, (3, 32, 32))])
def test_trainer_logs_one_figure_per_sample_to_tensorboard(namespace, make_net, shape, tmp_path):
    """A real Trainer (either namespace): figures land in the event file under their own tags, for training and
    validation batches; the callback never disturbs parameter gradients or modules' modes."""
    _, loggers = _lightning(namespace)
    logger = loggers.TensorBoardLogger(str(tmp_path / "tb"), name="run")
    callback = GradSpy(top_k=2, max_logit_difference=1e9, logging_batch_interval=2, log_validation=True,
                       class_names=[str(i) for i in range(10)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _fit(namespace, make_net(), shape, logger, callback, tmp_path)
    assert not [w for w in caught if "ConfusedLogitCallback" in str(w.message)]  # no "PNG instead" warning
    figures = read_logged_figures(tmp_path / "tb", "confused_logits/")
    tags = [f.tag for f in figures]
    # training batches 1 and 3 (interval 2), validation batches 0 and 2; two samples each
    assert len(tags) == 8 == len(set(tags)) and sorted(tags) == sorted(callback.logged)
    assert sum("/train/" in t for t in tags) == 4 and sum("/val/" in t for t in tags) == 4
    assert all(f.image.ndim == 3 and f.image.shape[2] == 3 and f.image.std() > 10 for f in figures)
    assert callback.disturbed == [False] * 4


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_without_tensorboard_png_files_and_one_warning(namespace, tmp_path):
    """With a CSV logger (or none) the figures become PNG files, and the callback warns exactly once."""
    _, loggers = _lightning(namespace)
    for logger in (loggers.CSVLogger(str(tmp_path / "csv")), False):
        callback = ConfusedLogitCallback(top_k=1, max_logit_difference=1e9, logging_batch_interval=1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _fit(namespace, digit_cnn(), (1, 28, 28), logger, callback, tmp_path)
        ours = [w for w in caught if "ConfusedLogitCallback" in str(w.message)]
        assert len(ours) == 1 and "PNG" in str(ours[0].message)
        assert len(callback.logged) == 4
        for path in callback.logged:
            with open(path, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_no_confused_sample_logs_nothing(tmp_path):
    """A threshold no sample meets: nothing is logged, nothing is written."""
    _, loggers = _lightning("pytorch_lightning")
    callback = ConfusedLogitCallback(max_logit_difference=0.0, logging_batch_interval=1)
    _fit("pytorch_lightning", digit_cnn(), (1, 28, 28), loggers.TensorBoardLogger(str(tmp_path / "tb")), callback,
         tmp_path)
    assert callback.logged == [] and read_logged_figures(tmp_path / "tb") == []
