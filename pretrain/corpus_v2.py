"""Design 7: the corpus of the second miniature suite, whose answers cannot be guessed.

The first suite's answers were single words from classes of 8–48, so a model that knew only an
answer's class reached pass@15 ≈ 0.58 (pretrain/PILOT.md, "Plan for the second suite"). Here
every answer is several tokens long, and each test question records its guess probability: the
likelier of two guessers that know nothing of the question's content, one uniform over the
answer's format and one that samples answers as often as training states them (the prior). The
four families, as in the first suite, stand in for the paper's four synthetic tasks:

- knowledge (recall): 512 people (two-token names), each with a code of two tokens from 64
  symbols, stated in training at Zipf(1.1) frequencies ("fn3 ln7 has c12 c40 ."). A question
  names two people and asks for both codes (four tokens). Test pairs are drawn uniformly over
  ranks, so the prior guesser's mean success per try is at most 1/512².
- arithmetic (reasoning): the sum of two numbers of d digits, digits written least significant
  first so that a left-to-right model carries as it goes ("3 0 9 plus 9 0 1 equals 2 1 0 1");
  training has d = 1…5, questions d = 5 (six answer digits; no sum is likelier than 10⁻⁵).
- causal (recall of joint causes): 512 causes, each a pair of events, with an effect of two
  tokens from 64 symbols, stated in training at Zipf frequencies ("if ev3 ev17 then c1 c2 .").
  A question states 1–3 other true rules (which never hold the answer) and asks the effects of
  two causes ("ev3 ev17 and ev9 ev1 so" → four tokens).
- spatial (two hops, one read and one recalled): 512 pieces of furniture (two-token names), each
  in a place of two tokens from 64 symbols, stated in training at Zipf frequencies; a question
  places 2–3 objects on furniture in context and asks where two of them are ("the obj3 and the
  obj9 are in" → four tokens): which furniture is read from the context, its place recalled.

A first version with 1,024 entities, three-token codes and six-digit sums was barely off chance
after 300 tokens per parameter at 39K parameters (pretrain/PILOT.md, pilot 9); this one halves
what there is to memorise and shortens the sums, with the same guarantees against guessing.

Every prompt in a question's format is a test instance if it hashes to 0 modulo
`HOLDOUT_MODULUS`; the training stream never emits one as a document. Training sequences open
with `<eos>`, where the harness asks its questions (pilot 7). Like design 5, everything is a
pure function of the seed; the packing, fine-tuning and batching code is design 5's
(`pretrain.corpus.Corpus`).
"""

from __future__ import annotations

import numpy as np

from pretrain.corpus import (HOLDOUT_MODULUS, SPECIAL, TASKS, Corpus, Question, _draw_rank, _is_test_instance, _words,
                             _zipf_cdf)

VOCAB_VERSION = "t2mini-vocab-3"
CORPUS_VERSION = "t2mini-corpus-7"
QUESTIONS_PER_TASK = 1000
MIXTURE = {"fact": 0.25, "pair": 0.05, "arithmetic": 0.25, "causal_world": 0.1, "causal": 0.1, "spatial_world": 0.1,
           "spatial": 0.15}
SYMBOLS, CODE_LENGTH = 64, 2
N_FIRST, N_LAST = 32, 16
N_EVENTS, N_CAUSES = 32, 512
FURNITURE_FIRST, FURNITURE_LAST = 32, 16
N_OBJECTS = 32
MAX_DIGITS = 5
FUNCTION_WORDS = [".", "the", "is", "in", "on", "if", "then", "so", "plus", "equals", "and", "has", "have", "are"]
# The table of entities each recall family asks about (arithmetic asks about none).
TABLE_OF = {"knowledge": "people", "causal": "causes", "spatial": "furniture"}
__all__ = ["CORPUS_VERSION", "CorpusV2", "HOLDOUT_MODULUS", "VOCAB_VERSION", "vocabulary"]


def vocabulary() -> list[str]:
    """The versioned word list of design 7; a token's id is its position."""
    return (SPECIAL + FUNCTION_WORDS + _words("fn", N_FIRST) + _words("ln", N_LAST) + _words("c", SYMBOLS)
            + [str(d) for d in range(10)] + _words("ev", N_EVENTS) + _words("fa", FURNITURE_FIRST)
            + _words("fb", FURNITURE_LAST) + _words("obj", N_OBJECTS))


def _codes(rng: np.random.Generator, count: int) -> list[tuple[str, ...]]:
    """`count` distinct codes of CODE_LENGTH symbols."""
    drawn = rng.choice(SYMBOLS ** CODE_LENGTH, size=count, replace=False)
    return [tuple(f"c{(int(n) // SYMBOLS ** i) % SYMBOLS}" for i in range(CODE_LENGTH)) for n in drawn]


def _digits(value: int, width: int) -> list[str]:
    """`value` as `width` digits, least significant first."""
    return [str((value // 10 ** i) % 10) for i in range(width)]


def sum_probability(total: int, digits: int = MAX_DIGITS) -> float:
    """P(a + b = total) for a, b independent and uniform over 0 … 10^digits − 1."""
    top = 10 ** digits - 1
    return max(0, min(total, 2 * top - total) + 1) / 10 ** (2 * digits)


class WorldV2:
    """The facts that are true in a design-7 corpus, drawn from `seed`; each table is in
    frequency-rank order (rank r is stated with Zipf weight (r + 1)^-1.1)."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng([seed, 7])
        self.people = [(f"fn{i // N_LAST}", f"ln{i % N_LAST}") for i in rng.permutation(N_FIRST * N_LAST)]
        self.person_code = _codes(rng, len(self.people))
        pairs = rng.permutation(N_EVENTS * N_EVENTS)[:N_CAUSES]
        self.causes = [(f"ev{p // N_EVENTS}", f"ev{p % N_EVENTS}") for p in pairs]
        self.effect = _codes(rng, N_CAUSES)
        n_furniture = FURNITURE_FIRST * FURNITURE_LAST
        self.furniture = [(f"fa{i // FURNITURE_LAST}", f"fb{i % FURNITURE_LAST}") for i in rng.permutation(n_furniture)]
        self.place = _codes(rng, n_furniture)
        self.cdf = {"people": _zipf_cdf(len(self.people)), "causes": _zipf_cdf(N_CAUSES),
                    "furniture": _zipf_cdf(n_furniture)}
        codes = {"people": self.person_code, "causes": self.effect, "furniture": self.place}
        self.rank_of = {table: {code: rank for rank, code in enumerate(values)} for table, values in codes.items()}

    def answer_ranks(self, task: str, answer: tuple[str, ...]) -> list[int]:
        """The frequency ranks of the two entities whose codes make up a recall question's answer."""
        return [self.rank_of[TABLE_OF[task]][answer[i:i + CODE_LENGTH]] for i in (0, CODE_LENGTH)]

    def share(self, table: str, rank: int) -> float:
        """How often rank `rank` of `table` is stated among its table's statements."""
        cdf = self.cdf[table]
        return float(cdf[rank] - (cdf[rank - 1] if rank else 0.0))

    def draw(self, rng: np.random.Generator, table: str, avoid: tuple[int, ...] = ()) -> int:
        """A rank of `table` at its training frequency, other than those in `avoid`."""
        while (rank := _draw_rank(rng, self.cdf[table])) in avoid:
            pass
        return rank

    # --- documents and questions, as (prompt, answer) word tuples ------------------------------
    def fact(self, rank: int) -> tuple[str, ...]:
        return (*self.people[rank], "has", *self.person_code[rank], ".")

    def pair(self, first: int, second: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        prompt = (*self.people[first], "and", *self.people[second], "have")
        return prompt, self.person_code[first] + self.person_code[second]

    def rule(self, rank: int) -> tuple[str, ...]:
        return ("if", *self.causes[rank], "then", *self.effect[rank], ".")

    def causal(self, rng: np.random.Generator, first: int, second: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """1-3 other true rules in context, then the two causes happen."""
        others: list[int] = []
        for _ in range(int(rng.integers(1, 4))):
            others.append(self.draw(rng, "causes", (first, second, *others)))
        context = [word for rank in others for word in self.rule(rank)]
        prompt = (*context, *self.causes[first], "and", *self.causes[second], "so")
        return prompt, self.effect[first] + self.effect[second]

    def furniture_fact(self, rank: int) -> tuple[str, ...]:
        return ("the", *self.furniture[rank], "is", "in", *self.place[rank], ".")

    def spatial(self, rng: np.random.Generator, first: int, second: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Two asked objects on furniture `first` and `second` and 0-1 more placed, in shuffled
        order; the question asks the asked objects' places."""
        placed = [first, second] + ([self.draw(rng, "furniture", (first, second))] if rng.random() < 0.5 else [])
        things = rng.choice(N_OBJECTS, size=len(placed), replace=False)
        words: list[str] = []
        for i in rng.permutation(len(placed)):
            words += ["the", f"obj{things[i]}", "is", "on", "the", *self.furniture[placed[i]], "."]
        prompt = (*words, "the", f"obj{things[0]}", "and", "the", f"obj{things[1]}", "are", "in")
        return prompt, self.place[first] + self.place[second]


def arithmetic(rng: np.random.Generator, digits: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    a, b = (int(rng.integers(0, 10 ** digits)) for _ in range(2))
    return (*_digits(a, digits), "plus", *_digits(b, digits), "equals"), tuple(_digits(a + b, digits + 1))


def carries(prompt: tuple[str, ...]) -> int:
    """How many digit positions of a sum question carry."""
    digits = len(prompt) // 2 - 1
    a, b = prompt[:digits], prompt[digits + 1: 2 * digits + 1]
    carry = count = 0
    for x, y in zip(a, b):
        carry = int(int(x) + int(y) + carry >= 10)
        count += carry
    return count


def _value(reversed_digits: tuple[str, ...]) -> int:
    return sum(int(d) * 10 ** i for i, d in enumerate(reversed_digits))


class CorpusV2(Corpus):
    """The design-7 training stream and test questions of one world (see the module docstring)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed, self.version, self.opens_with_eos = seed, CORPUS_VERSION, True
        self.world = WorldV2(seed)
        self.words = vocabulary()
        self.ids = {word: i for i, word in enumerate(self.words)}
        self.kinds = list(MIXTURE)
        self.kind_cdf = np.cumsum(list(MIXTURE.values()))

    def _instance(self, task: str, rng: np.random.Generator, uniform: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """One question-format instance of `task`: its asked entities drawn at training frequency,
        or (`uniform`, as test questions) uniformly over ranks."""
        world = self.world
        table = TABLE_OF.get(task)
        if table is None:
            return arithmetic(rng, MAX_DIGITS if uniform else int(rng.integers(1, MAX_DIGITS + 1)))
        size = len(world.cdf[table])
        first = int(rng.integers(size)) if uniform else world.draw(rng, table)
        second = first
        while second == first:
            second = int(rng.integers(size)) if uniform else world.draw(rng, table)
        return {"knowledge": world.pair, "causal": lambda a, b: world.causal(rng, a, b),
                "spatial": lambda a, b: world.spatial(rng, a, b)}[task](first, second)

    def _document(self, kind: str, rng: np.random.Generator) -> tuple[str, ...]:
        world = self.world
        if kind == "fact":
            return world.fact(world.draw(rng, "people"))
        if kind == "causal_world":
            return world.rule(world.draw(rng, "causes"))
        if kind == "spatial_world":
            return world.furniture_fact(world.draw(rng, "furniture"))
        task = {"pair": "knowledge"}.get(kind, kind)
        while True:
            prompt, answer = self._instance(task, rng, uniform=False)
            if not _is_test_instance(prompt):
                return prompt + answer + (".",)

    def _question_instance(self, task: str, rng: np.random.Generator) -> tuple[tuple[str, ...], str]:
        prompt, answer = self._instance(task, rng, uniform=False)
        return prompt, " ".join(answer)

    def guess(self, task: str, prompt: tuple[str, ...], answer: tuple[str, ...]) -> tuple[float, int]:
        """(probability that one guess is right, size of the answer's format): the likelier of a
        uniform guess over the format and a guess drawn at the answers' training frequencies."""
        if task == "arithmetic":
            space = 10 ** (MAX_DIGITS + 1)
            return max(1 / space, sum_probability(_value(answer))), space
        shares = [self.world.share(TABLE_OF[task], rank) for rank in self.world.answer_ranks(task, answer)]
        space = SYMBOLS ** (2 * CODE_LENGTH)
        return max(1 / space, shares[0] * shares[1]), space

    def difficulty(self, task: str, prompt: tuple[str, ...], answer: tuple[str, ...]) -> float:
        """Arithmetic: the number of carries; the others: the rarer asked entity's frequency rank (1-based)."""
        if task == "arithmetic":
            return float(carries(prompt))
        return float(max(self.world.answer_ranks(task, answer)) + 1)

    def _questions(self, task: str) -> list[Question]:
        rng = np.random.default_rng([self.seed, 7, 2, TASKS.index(task)])
        found: list[Question] = []
        seen: set[tuple[str, ...]] = set()
        while len(found) < QUESTIONS_PER_TASK:
            prompt, answer = self._instance(task, rng, uniform=True)
            if not _is_test_instance(prompt) or prompt in seen:
                continue
            seen.add(prompt)
            guess, space = self.guess(task, prompt, answer)
            found.append(Question(task, prompt, " ".join(answer), self.difficulty(task, prompt, answer), space, guess))
        return found
