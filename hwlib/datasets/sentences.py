"""Sentences for notebook 05: one word in many contexts, and question/context pairs.

online:  ML2021 HW9's ten sentences about 蘋果 (five about the fruit, five about the company), for
         ``bert-base-chinese``; the selected "word" is the character 蘋 (the Chinese tokenizer makes every CJK
         character one word).
offline: English sets of the same design for the MiniLM (lower-cased English WordPiece): apple the fruit vs Apple
         the company, the bank of a river vs a bank for money, the bat that flies vs the bat that hits, the mouse
         that squeaks vs the mouse that clicks.

A *word index* counts words as the tokenizer's pre-tokenizer splits them (whitespace and punctuation; every CJK
character is a word): what ``tokenized_sentence.word_ids()`` reports. A test checks every index against the real
tokenizers.

The three question/context pairs (HW9's: detention, Emily's fear of cats, Tesla's birth year) are English, as in
HW9; the texts are paraphrased.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..sources import check_source


@dataclass(frozen=True)
class SenseSentences:
    """One word in many sentences, each sentence using one of the word's senses.

    ``sentences[i]`` uses ``word`` at word index ``word_indices[i]`` in sense ``sense_names[senses[i]]``.
    ``label(i)`` is a short axis label."""
    word: str
    sentences: tuple[str, ...]
    word_indices: tuple[int, ...]
    senses: tuple[int, ...]
    sense_names: tuple[str, ...]
    language: str

    def __post_init__(self):
        n = len(self.sentences)
        if not (len(self.word_indices) == len(self.senses) == n) or n == 0:
            raise ValueError(f"{self.word!r}: sentences, word_indices and senses must have the same non-zero "
                             f"length, got {n}, {len(self.word_indices)}, {len(self.senses)}.")
        if any(not 0 <= s < len(self.sense_names) for s in self.senses):
            raise ValueError(f"{self.word!r}: senses must index sense_names ({len(self.sense_names)} names).")

    def __len__(self) -> int:
        return len(self.sentences)

    def label(self, i: int) -> str:
        """``"<sense>: <sentence>"`` for axis labels."""
        return f"{self.sense_names[self.senses[i]]}: {self.sentences[i]}"


@dataclass(frozen=True)
class QAPair:
    """A question, the context that answers it, and the answer (a substring of the context)."""
    question: str
    context: str
    answer: str

    def __post_init__(self):
        if self.answer.lower() not in self.context.lower():
            raise ValueError(f"the answer {self.answer!r} does not occur in its context.")


def _sense_set(word, sense_names, language, *groups) -> SenseSentences:
    """``groups[k]`` lists ``(sentence, word index)`` pairs of sense ``k``."""
    rows = [(sentence, index, sense) for sense, group in enumerate(groups) for sentence, index in group]
    return SenseSentences(word, tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows),
                          tuple(sense_names), language)


#: HW9's sentences (蘋果 = apple); index = position of the character 蘋.
APPLE_ZH = _sense_set("蘋", ("水果", "公司"), "zh", [
    ("今天買了蘋果來吃", 4),
    ("進口蘋果（富士)平均每公斤下跌12.3%", 2),
    ("蘋果茶真難喝", 0),
    ("老饕都知道智利的蘋果季節即將到來", 8),
    ("進口蘋果因防止水分流失故添加人工果糖", 2),
], [
    ("蘋果即將於下月發表新款iPhone", 0),
    ("蘋果獲新Face ID專利", 0),
    ("今天買了蘋果手機", 4),
    ("蘋果的股價又跌了", 0),
    ("蘋果押寶指紋辨識技術", 0),
])

APPLE_EN = _sense_set("apple", ("fruit", "company"), "en", [
    ("I ate an apple for lunch today", 3),
    ("She sliced the apple and added it to the pie", 3),
    ("This apple is sweet and crunchy", 1),
    ("He picked a ripe apple from the tree", 4),
    ("An apple a day keeps the doctor away", 1),
], [
    ("Apple released a new iPhone this week", 0),
    ("The shares of Apple fell after the earnings report", 3),
    ("I bought an Apple laptop for school", 3),
    ("Apple opened a new store downtown", 0),
    ("Apple announced its quarterly profits on Monday", 0),
])

BANK_EN = _sense_set("bank", ("river", "money"), "en", [
    ("We sat on the bank of the river and fished", 4),
    ("The boat drifted toward the muddy bank", 6),
    ("Flowers grew along the river bank", 5),
    ("The children played on the grassy bank of the stream", 6),
    ("The flood washed away part of the bank", 7),
], [
    ("I deposited my salary at the bank", 6),
    ("The bank approved her loan", 1),
    ("He withdrew cash from the bank this morning", 5),
    ("The bank raised its interest rates", 1),
    ("She opened a savings account at a bank", 7),
])

BAT_EN = _sense_set("bat", ("animal", "club"), "en", [
    ("The bat flew out of the cave at night", 1),
    ("A bat hung upside down from the branch", 1),
    ("The bat uses echoes to find insects", 1),
    ("We saw a small bat flying over the pond", 4),
    ("The vampire bat feeds on blood", 2),
], [
    ("He swung the bat and hit a home run", 3),
    ("The baseball bat was made of wood", 2),
    ("She bought a new cricket bat", 5),
    ("He gripped the bat tightly before the pitch", 3),
    ("The player dropped his bat and ran to first base", 4),
])

MOUSE_EN = _sense_set("mouse", ("animal", "device"), "en", [
    ("The cat chased the mouse into the kitchen", 4),
    ("A mouse nibbled the cheese in the pantry", 1),
    ("The field mouse hid under the leaves", 2),
    ("A tiny mouse ran across the barn floor", 2),
    ("The owl caught a mouse in the meadow", 4),
], [
    ("Click the left mouse button to open the file", 3),
    ("My wireless mouse needs new batteries", 2),
    ("Move the mouse pointer over the icon", 2),
    ("He plugged the mouse into the laptop", 3),
    ("The mouse stopped working so I used the touchpad", 1),
])

#: HW9's three question/context pairs (paraphrased).
QA_PAIRS = (
    QAPair("What is a common punishment in the UK and Ireland?",
           "Detention is one of the most common punishments in schools in the United States, the UK, Ireland, "
           "Singapore and other countries. The pupil has to stay in school at a set time, such as lunch, a break "
           "or after school, or even come to school on a day without lessons. During detention, students usually "
           "sit in a classroom and work, write lines or a punishment essay, or sit quietly.",
           "detention"),
    QAPair("What is Emily afraid of?",
           "Wolves are afraid of cats. Sheep are afraid of wolves. Mice are afraid of sheep. Gertrude is a mouse. "
           "Jessica is a mouse. Emily is a wolf. Cats are afraid of sheep. Winona is a wolf.",
           "cats"),
    QAPair("In what year was Nikola Tesla born?",
           "Nikola Tesla (10 July 1856 - 7 January 1943) was a Serbian-American inventor, electrical engineer, "
           "mechanical engineer, physicist and futurist, best known for his part in the design of the modern "
           "alternating current (AC) electricity supply system.",
           "1856"),
)


def load_sense_sentences(source: str | None = None) -> tuple[SenseSentences, ...]:
    """The word-in-context sets of ``source``: online ``(APPLE_ZH,)``, offline ``(APPLE_EN, BANK_EN, BAT_EN,
    MOUSE_EN)``. ``source`` must be resolved already (``"online"``/``"offline"``; ``"auto"`` and ``None`` mean
    ``$HWLIB_SOURCE``, which must then name one of them) - pass the source :func:`hwlib.load_bert` returned."""
    source = check_source(source)
    if source == "auto":
        raise ValueError("load_sense_sentences: pass the resolved source ('online' or 'offline'), e.g. the "
                         "`source` that hwlib.load_bert returned; the sentences must match the model's language.")
    return (APPLE_ZH,) if source == "online" else (APPLE_EN, BANK_EN, BAT_EN, MOUSE_EN)
