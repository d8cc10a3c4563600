"""hwlib's Food-11 for notebook 04: HW9's classifier (layer indices, checkpoints), the on-disk layout and its
loader, the synthetic dataset written in that layout, the shipped offline model and its training command."""
import json
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

import hwlib
from hwlib.datasets import food
from hwlib.datasets.food_render import DISHES, render_dish
from hwlib.models import food as food_model
from hwlib.sources import OfflineError

HW9_KINDS = ["Conv2d", "BatchNorm2d", "ReLU"]


def hw9_layer_kinds():
    """The module types of HW9's ``cnn`` Sequential, written out from its stack_blocks definition."""
    kinds = []
    for n in (3, 3, 3, 1, 1):
        kinds += HW9_KINDS * n + ["MaxPool2d"]
    return kinds


@pytest.mark.parametrize("width", [1.0, 1 / 16])
def test_food_classifier_has_hw9s_layer_indices(width):
    """cnn[6] is stage 1's third conv and cnn[23] stage 3's second conv, before their BatchNorm, at every width."""
    model = hwlib.FoodClassifier(width=width)
    assert [type(m).__name__ for m in model.cnn] == hw9_layer_kinds()
    convs = [i for i, m in enumerate(model.cnn) if isinstance(m, torch.nn.Conv2d)]
    assert convs.index(6) == 2 and convs.index(23) == 7
    assert isinstance(model.cnn[7], torch.nn.BatchNorm2d) and model.cnn[8].inplace
    assert model(torch.rand(2, 3, 128, 128)).shape == (2, 11)


def test_full_width_matches_hw9s_shapes():
    """Width 1 is HW9's network: its state_dict keys and shapes are those of HW9's checkpoint."""
    state = hwlib.FoodClassifier().state_dict()
    assert state["cnn.0.weight"].shape == (128, 3, 3, 3)
    assert state["cnn.23.weight"].shape == (256, 256, 3, 3)
    assert state["cnn.34.weight"].shape == (512, 512, 3, 3)
    assert state["fc.0.weight"].shape == (1024, 8192) and state["fc.3.weight"].shape == (11, 1024)


def test_bad_inputs_are_clear_errors():
    model = hwlib.FoodClassifier(width=1 / 16)
    with pytest.raises(ValueError, match="unsqueeze"):
        model(torch.rand(3, 128, 128))
    with pytest.raises(ValueError, match="128 x 128"):
        model(torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match="width"):
        hwlib.FoodClassifier(width=0)


def test_checkpoint_formats_load(tmp_path):
    """HW9's {'model_state_dict': ...}, a bare state_dict and DataParallel's 'module.' prefixes all load."""
    model = hwlib.FoodClassifier(width=1 / 16)
    state = model.state_dict()
    for name, payload in (("hw9", {"model_state_dict": state, "epoch": 3, "width": 1 / 16}),
                          ("bare", state), ("parallel", {"model_state_dict": {f"module.{k}": v for k, v in state.items()}})):
        torch.save(payload, tmp_path / f"{name}.pth")
        loaded = food_model.load_checkpoint(tmp_path / f"{name}.pth", width=1 / 16)
        for key, value in loaded.state_dict().items():
            torch.testing.assert_close(value, state[key])
    with pytest.raises(ValueError, match="model_state_dict"):
        food_model.state_dict_from_checkpoint({"model_state_dict": "nope"})


def test_checkpoints_are_mapped_to_the_cpu(tmp_path, monkeypatch):
    """A checkpoint saved on a GPU must load on a CPU-only machine: torch.load is told map_location='cpu'."""
    torch.save({"model_state_dict": hwlib.FoodClassifier(width=1 / 16).state_dict(), "width": 1 / 16},
               tmp_path / "c.pth")
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    food_model.load_checkpoint(tmp_path / "c.pth")
    assert seen.get("map_location") == "cpu" and seen.get("weights_only") is True


def test_online_checkpoint_from_the_instructors_setting(tmp_path, monkeypatch):
    """Online = the file $HWLIB_FOOD_CHECKPOINT names (HW9's format has no width: full width)."""
    model = hwlib.FoodClassifier()
    torch.save({"model_state_dict": model.state_dict()}, tmp_path / "checkpoint.pth")
    monkeypatch.setenv("HWLIB_FOOD_CHECKPOINT", str(tmp_path / "checkpoint.pth"))
    loaded = hwlib.load_food_classifier("online", device="cpu")
    assert loaded.source == "online" and loaded.class_names == hwlib.FOOD11_CLASSES
    assert loaded.model.width == 1.0 and not loaded.model.training
    assert not any(p.requires_grad for p in loaded.model.parameters())
    torch.testing.assert_close(loaded.model.fc[3].weight, model.fc[3].weight)


def test_online_without_settings_is_an_offline_error_and_auto_falls_back(monkeypatch):
    monkeypatch.delenv("HWLIB_FOOD_CHECKPOINT", raising=False)
    monkeypatch.delenv("HWLIB_FOOD11", raising=False)
    with pytest.raises(OfflineError, match="HWLIB_FOOD_CHECKPOINT"):
        hwlib.load_food_classifier("online", device="cpu")
    with pytest.warns(UserWarning, match="falling back"):
        assert hwlib.load_food_classifier("auto", device="cpu").source == "offline"
    assert hwlib.resolve_food_source("auto") == "offline"


def test_resolve_food_source(tmp_path, monkeypatch):
    (tmp_path / "food" / "evaluation").mkdir(parents=True)
    (tmp_path / "c.pth").write_bytes(b"")
    monkeypatch.setenv("HWLIB_FOOD_CHECKPOINT", str(tmp_path / "c.pth"))
    monkeypatch.setenv("HWLIB_FOOD11", str(tmp_path / "food"))
    assert hwlib.resolve_food_source("auto") == "online"
    monkeypatch.setenv("HWLIB_FOOD11", str(tmp_path / "missing"))
    assert hwlib.resolve_food_source("auto") == "offline"
    monkeypatch.setenv("HWLIB_FOOD11", "https://example.org/food-11.zip")
    assert hwlib.resolve_food_source("auto") == "offline"          # downloads are off in tests
    assert hwlib.resolve_food_source("online") == "online" and hwlib.resolve_food_source("offline") == "offline"


def write_jpg(path, size=64, colour=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), colour, np.uint8)).save(path)


def test_files_sort_by_label_then_number_as_hw9(tmp_path):
    """'10_2.jpg' comes after '2_10.jpg' (numbers, not strings); other files are ignored."""
    for name in ("10_2.jpg", "2_10.jpg", "2_9.jpg", "0_0.jpg"):
        write_jpg(tmp_path / "training" / name)
    (tmp_path / "training" / ".DS_Store").write_bytes(b"x")
    (tmp_path / "training" / "notes.txt").write_text("x")
    files = food.food11_files(tmp_path, "training")
    assert [p.name for p, _ in files] == ["0_0.jpg", "2_9.jpg", "2_10.jpg", "10_2.jpg"]
    assert [label for _, label in files] == [0, 2, 2, 10]


@pytest.mark.parametrize("name", ["bread.jpg", "11_0.jpg", "3-1.jpg"])
def test_bad_file_names_are_named(tmp_path, name):
    write_jpg(tmp_path / "evaluation" / name)
    with pytest.raises(ValueError, match="<label>_<n>.jpg"):
        food.food11_files(tmp_path, "evaluation")


def test_loader_resizes_and_checks_indices(tmp_path):
    write_jpg(tmp_path / "validation" / "4_0.jpg", size=64)
    data = hwlib.load_food11(tmp_path, "validation")
    assert data.images.shape == (1, 128, 128, 3) and data.images.dtype == np.uint8 and data.labels.tolist() == [4]
    with pytest.raises(ValueError, match="has 1 images"):
        hwlib.load_food11(tmp_path, "validation", indices=[3])
    with pytest.raises(ValueError, match="split"):
        hwlib.load_food11(tmp_path, "test")
    with pytest.raises(ValueError, match="no folder"):
        hwlib.load_food11(tmp_path, "training")


def test_drawing_is_deterministic_and_every_class_differs():
    first = [render_dish(label, 7, 3) for label in range(len(DISHES))]
    assert all(np.array_equal(a, render_dish(label, 7, 3)) for label, a in enumerate(first))
    assert all(a.shape == (128, 128, 3) and a.dtype == np.uint8 for a in first)
    assert len({a.tobytes() for a in first}) == len(DISHES) == 11
    assert not np.array_equal(render_dish(0, 7, 3), render_dish(0, 7, 4))


def test_synthetic_food11_is_written_in_food11s_layout(tmp_path):
    root = food.write_synthetic_food11(tmp_path, per_class={"training": 2, "evaluation": 1},
                                       seeds={"training": 1, "evaluation": 2})
    names = sorted(p.name for p in (root / "training").iterdir())
    assert names == sorted(f"{label}_{n}.jpg" for label in range(11) for n in range(2))
    data = hwlib.load_food11(root, "evaluation")
    assert data.labels.tolist() == list(range(11))
    assert np.abs(data.images.astype(int) - np.stack([render_dish(c, 2, 0) for c in range(11)])).mean() < 4


def test_offline_samples_are_the_cached_files_and_the_in_memory_copy(empty_cache):
    """The notebook reads JPEGs from the cache; the autograder draws the same bytes in memory."""
    samples = hwlib.load_food_samples(10, source="offline")
    assert samples.labels.tolist() == list(range(10)) and samples.source == "offline"
    assert all(p.endswith(f"evaluation/{c}_0.jpg") for c, p in enumerate(samples.paths))
    assert np.array_equal(samples.images, food.synthetic_food_samples(10).images)
    assert food.synthetic_food11_root() == food.synthetic_food11_root()   # written once


def test_online_food11_from_a_folder_or_a_zip(tmp_path, monkeypatch, empty_cache):
    write_jpg(tmp_path / "food-11" / "evaluation" / "0_0.jpg")
    assert food.online_food11_root(str(tmp_path / "food-11")) == tmp_path / "food-11"
    with zipfile.ZipFile(tmp_path / "food.zip", "w") as z:
        z.write(tmp_path / "food-11" / "evaluation" / "0_0.jpg", "food-11/evaluation/0_0.jpg")
    monkeypatch.setenv("HWLIB_NO_NETWORK", "0")
    root = food.online_food11_root((tmp_path / "food.zip").as_uri())          # file:// needs no network
    assert (root / "evaluation" / "0_0.jpg").is_file()
    with pytest.raises(OfflineError, match="not a folder"):
        food.online_food11_root(str(tmp_path / "nowhere"))


def test_shipped_offline_model_classifies_the_10_images():
    """Known answer: the shipped weights get all 10 notebook images right (as recorded in the provenance)."""
    loaded = hwlib.load_food_classifier("offline", device="cpu")
    samples = food.synthetic_food_samples(10)
    x = torch.from_numpy(samples.images).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        predicted = loaded.model(x).argmax(1)
    record = food_model.offline_provenance()
    assert predicted.tolist() == record["sample_predictions"] == list(range(10))
    assert loaded.model.width == food_model.OFFLINE_WIDTH
    assert record["heldout_accuracy"] >= 0.95 and record["total_cpu_seconds"] <= 600
    assert (food_model.data_dir() / food_model.OFFLINE_WEIGHTS).stat().st_size < 2e6


def test_training_command_writes_weights_and_provenance(tmp_path):
    """A tiny run of `python -m hwlib_training.food` (one step) writes loadable weights and a complete record."""
    from hwlib_training import food as training

    assert training.main(["--out", str(tmp_path), "--per-class", "1", "--heldout-per-class", "1", "--epochs", "1",
                          "--batch-size", "11", "--threads", "1"]) == 0
    record = json.loads((tmp_path / food_model.OFFLINE_PROVENANCE).read_text())
    for key in ("command", "seed", "data", "heldout_accuracy", "disk_evaluation_accuracy", "sample_predictions",
                "total_cpu_seconds", "training_log"):
        assert key in record
    checkpoint = torch.load(tmp_path / food_model.OFFLINE_WEIGHTS, weights_only=True)
    assert all(v.dtype == torch.float16 for v in checkpoint["model_state_dict"].values() if v.is_floating_point())
    food_model.load_checkpoint(tmp_path / food_model.OFFLINE_WEIGHTS)
    with pytest.raises(SystemExit):
        training.parse_args(["--epochs", "0"])
