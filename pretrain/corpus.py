"""The procedurally generated corpus and the four test tasks of the book's miniature suite.

Everything is a pure function of a seed: the word-level vocabulary (`VOCAB_VERSION`), the world
(which facts are true), the training stream (sequence i depends only on (seed, i)) and the test
questions. Four task families mirror the paper's synthetic tasks, each with single-token answers:

- knowledge (Simple Knowledge): 1,024 two-token people × 4 relations, each with one of the 16
  values of its relation's class (the class is the chance level). The training stream states
  facts with Zipf(1.1) frequencies over people; test questions are 1,000 facts drawn
  log-uniformly over frequency rank. Difficulty: the person's frequency rank.
- arithmetic (Simple Reasoning): chains of 1-3 additions/subtractions on 0-19 with every
  intermediate in range ("4 plus 7 minus 2 equals" → 9), drawn from the training distribution
  (half of them one operation). Difficulty: the number of operations.
- causal (Commonsense Causal): a fixed world gives each of 1,024 two-event causes one effect among
  48 events, stated in training with Zipf frequencies ("if ev3 ev17 then ev9 ."); a question
  repeats 1-4 true rules in context and then one of their causes happens ("ev3 ev17 so" → ev9):
  the answer can be read from the context or recalled from memory. Difficulty: the cause's
  frequency rank.
- spatial (Spatial Reasoning): a fixed world puts each of 64 pieces of furniture in one of 8 rooms
  (stated in training with Zipf frequencies); a question places 1-3 objects on furniture in
  context and asks one object's room ("the obj3 is on the furn7 . the obj3 is in the" → the
  room of furn7): one hop in context, one from memory. Difficulty: the furniture's frequency rank.

Test instances of causal and spatial are kept out of the training stream by a hash split: an
instance whose prompt hashes to 0 modulo `HOLDOUT_MODULUS` is a test instance, and the training
generator never emits one as a document (a test prompt may still occur inside a longer training
document, e.g. as the last rules of a causal instance with more rules). Knowledge facts and
arithmetic chains are, by design, drawn from what the training stream contains: recall, and
computation on chains of which the one-operation ones are all seen (there are ~10⁵ longer ones).
Design history and the pilots that chose it: pretrain/PILOT.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

VOCAB_VERSION = "t2mini-vocab-2"
# The corpus design (tasks, mixture, world): part of every run's spec, so that a saved training
# state is never resumed on a changed corpus. History: pretrain/PILOT.md.
CORPUS_VERSION = "t2mini-corpus-5"
# Designs the trainer can still build, each with whether its training sequences open with <eos>
# (design 6 = design 5 with that opening, where the harness asks its questions: pilot 7).
OPENS_WITH_EOS = {"t2mini-corpus-5": False, "t2mini-corpus-6": True}
CONTEXT = 128
HOLDOUT_MODULUS = 16
TASKS = ("knowledge", "arithmetic", "causal", "spatial")
DISPLAY_NAMES = {"knowledge": "Simple Knowledge (mini)", "arithmetic": "Simple Reasoning (mini)",
                 "causal": "Commonsense Causal (mini)", "spatial": "Spatial Reasoning (mini)"}
QUESTIONS_PER_TASK = 1000
# The mixture of the training stream: the share of documents of each kind.
MIXTURE = {"knowledge": 0.35, "arithmetic": 0.2, "causal_world": 0.1, "causal": 0.15, "spatial_world": 0.1,
           "spatial": 0.1}
# Short arithmetic chains are drawn more often (pilot 1 left depth-3 chains at chance).
ARITHMETIC_DEPTHS = {1: 0.6, 2: 0.3, 3: 0.1}
CAUSAL_RULES = (1, 4)
HELD_OUT = ("causal", "spatial")
ZIPF_EXPONENT = 1.1
N_FIRST, N_LAST, N_RELATIONS, N_VALUES = 32, 32, 4, 64
VALUES_PER_RELATION = N_VALUES // N_RELATIONS  # each relation has its own class of values
MAX_NUMBER = 19
N_EVENTS, N_CAUSES, N_ROOMS, N_FURNITURE, N_OBJECTS = 48, 1024, 8, 64, 32

SPECIAL = ["<pad>", "<eos>", "<unk>"]
FUNCTION_WORDS = [".", "the", "is", "in", "on", "if", "then", "so", "plus", "minus", "equals"]
RELATIONS = ["lives_in", "works_as", "likes", "owns"]


def corpus_for(seed: int = 0, version: str = CORPUS_VERSION) -> "Corpus":
    """The corpus of design `version`: this module's designs 5 and 6, or the second suite's
    design 7 (pretrain.corpus_v2)."""
    from pretrain.corpus_v2 import CORPUS_VERSION as SECOND, CorpusV2  # imports this module

    return CorpusV2(seed) if version == SECOND else Corpus(seed, version)


def _words(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


def vocabulary() -> list[str]:
    """The versioned word list; a token's id is its position."""
    return (SPECIAL + FUNCTION_WORDS + RELATIONS + _words("fn", N_FIRST) + _words("ln", N_LAST)
            + _words("val", N_VALUES) + [str(i) for i in range(MAX_NUMBER + 1)] + _words("ev", N_EVENTS)
            + _words("room", N_ROOMS) + _words("furn", N_FURNITURE) + _words("obj", N_OBJECTS))


@dataclass(frozen=True)
class Question:
    """One test question: its prompt words, the gold answer word, and its difficulty."""

    task: str
    prompt: tuple[str, ...]
    answer: str  # one word, or several separated by spaces (design 7)
    difficulty: float
    answer_set: int  # size of the answer's space (chance NLL = ln of it)
    guess: float  # probability that one guess is right (design 5: uniform within the answer's class)


def _zipf_cdf(n: int) -> np.ndarray:
    """The cumulative Zipf(ZIPF_EXPONENT) distribution over ranks 0..n-1."""
    weights = 1.0 / np.arange(1, n + 1) ** ZIPF_EXPONENT
    return np.cumsum(weights / weights.sum())


def _draw_rank(rng: np.random.Generator, cdf: np.ndarray) -> int:
    return min(int(np.searchsorted(cdf, rng.random(), side="right")), len(cdf) - 1)


def _is_test_instance(words: tuple[str, ...]) -> bool:
    digest = hashlib.sha256(" ".join(words).encode()).digest()
    return int.from_bytes(digest[:4], "little") % HOLDOUT_MODULUS == 0


class World:
    """The facts that are true in this corpus, drawn from `seed`."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng([seed, 0])
        self.seed = seed
        n_people = N_FIRST * N_LAST
        # people in frequency-rank order: rank r is person order[r]
        self.people = [(f"fn{i // N_LAST}", f"ln{i % N_LAST}") for i in rng.permutation(n_people)]
        self.facts = (rng.integers(0, VALUES_PER_RELATION, size=(n_people, N_RELATIONS))
                      + VALUES_PER_RELATION * np.arange(N_RELATIONS))
        self.person_cdf = _zipf_cdf(n_people)
        self.furniture_room = rng.integers(0, N_ROOMS, size=N_FURNITURE)
        self.furniture_cdf = _zipf_cdf(N_FURNITURE)
        # two-event causes in frequency-rank order, each with one effect
        pairs = rng.permutation(N_EVENTS * N_EVENTS)[:N_CAUSES]
        self.causes = [(f"ev{p // N_EVENTS}", f"ev{p % N_EVENTS}") for p in pairs]
        self.effect = rng.integers(0, N_EVENTS, size=N_CAUSES)
        self.cause_cdf = _zipf_cdf(N_CAUSES)

    # --- documents, as word tuples ending in "." -------------------------------------------
    def knowledge_fact(self, rank: int, relation: int) -> tuple[tuple[str, ...], str]:
        first, last = self.people[rank]
        return (first, last, RELATIONS[relation]), f"val{self.facts[rank, relation]}"

    def causal_rule(self, rank: int) -> tuple[str, ...]:
        return ("if", *self.causes[rank], "then", f"ev{self.effect[rank]}", ".")

    def causal_instance(self, rng: np.random.Generator, rules: int) -> tuple[tuple[str, ...], str, int]:
        """`rules` true rules of distinct causes in context, then one of the causes happens."""
        ranks: list[int] = []
        while len(ranks) < rules:
            rank = _draw_rank(rng, self.cause_cdf)
            if rank not in ranks:
                ranks.append(rank)
        words = [word for rank in ranks for word in self.causal_rule(rank)]
        asked = ranks[int(rng.integers(rules))]
        return tuple(words + [*self.causes[asked], "so"]), f"ev{self.effect[asked]}", asked

    def spatial_world_fact(self, furniture: int) -> tuple[str, ...]:
        return ("the", f"furn{furniture}", "is", "in", "the", f"room{self.furniture_room[furniture]}", ".")

    def spatial_instance(self, rng: np.random.Generator) -> tuple[tuple[str, ...], str, int]:
        """1-3 objects placed on furniture in context; the question asks one object's room."""
        placed = int(rng.integers(1, 4))
        things = rng.choice(N_OBJECTS, size=placed, replace=False)
        furniture = [_draw_rank(rng, self.furniture_cdf) for _ in range(placed)]
        words: list[str] = []
        for thing, item in zip(things, furniture):
            words += ["the", f"obj{thing}", "is", "on", "the", f"furn{item}", "."]
        asked = int(rng.integers(placed))
        prompt = tuple(words + ["the", f"obj{things[asked]}", "is", "in", "the"])
        return prompt, f"room{self.furniture_room[furniture[asked]]}", furniture[asked]


def arithmetic_instance(rng: np.random.Generator, operations: int) -> tuple[tuple[str, ...], str]:
    """A chain of additions/subtractions with every intermediate in 0..MAX_NUMBER."""
    value = int(rng.integers(0, MAX_NUMBER + 1))
    words = [str(value)]
    for _ in range(operations):
        if rng.random() < 0.5 and value < MAX_NUMBER:
            operand = int(rng.integers(1, MAX_NUMBER - value + 1))
            value += operand
            words += ["plus", str(operand)]
        elif value > 0:
            operand = int(rng.integers(1, value + 1))
            value -= operand
            words += ["minus", str(operand)]
        else:
            operand = int(rng.integers(1, MAX_NUMBER + 1))
            value += operand
            words += ["plus", str(operand)]
    return tuple(words + ["equals"]), str(value)


def _arithmetic_depth(rng: np.random.Generator) -> int:
    return 1 + _draw_rank(rng, np.cumsum(list(ARITHMETIC_DEPTHS.values())))


def _causal_rules(rng: np.random.Generator) -> int:
    return int(rng.integers(CAUSAL_RULES[0], CAUSAL_RULES[1] + 1))


class Corpus:
    """The training stream and the test questions of one world; all pure functions of the seed
    (and of the design `version`, which decides only how a training sequence opens)."""

    def __init__(self, seed: int = 0, version: str = CORPUS_VERSION) -> None:
        if version not in OPENS_WITH_EOS:
            raise ValueError(f"unknown corpus design {version!r}; this code builds {', '.join(OPENS_WITH_EOS)}")
        self.seed, self.version, self.opens_with_eos = seed, version, OPENS_WITH_EOS[version]
        self.world = World(seed)
        self.words = vocabulary()
        self.ids = {word: i for i, word in enumerate(self.words)}
        self.kinds = list(MIXTURE)
        self.kind_cdf = np.cumsum(list(MIXTURE.values()))

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def encode(self, words: tuple[str, ...] | list[str]) -> list[int]:
        return [self.ids[w] for w in words]

    def _document(self, kind: str, rng: np.random.Generator) -> tuple[str, ...]:
        world = self.world
        while True:
            if kind == "knowledge":
                rank = _draw_rank(rng, world.person_cdf)
                prompt, answer = world.knowledge_fact(rank, int(rng.integers(N_RELATIONS)))
                return prompt + (answer, ".")
            if kind == "spatial_world":
                return world.spatial_world_fact(_draw_rank(rng, world.furniture_cdf))
            if kind == "causal_world":
                return world.causal_rule(_draw_rank(rng, world.cause_cdf))
            if kind == "arithmetic":
                prompt, answer = arithmetic_instance(rng, _arithmetic_depth(rng))
                return prompt + (answer, ".")
            if kind == "causal":
                prompt, answer, _ = world.causal_instance(rng, _causal_rules(rng))
            else:
                prompt, answer, _ = world.spatial_instance(rng)
            document = prompt + (answer, ".")
            if not _is_test_instance(prompt):
                return document

    def sequence(self, index: int, stream: int = 0) -> np.ndarray:
        """Training sequence `index` of data stream `stream` (CONTEXT + 1 token ids): documents
        packed end to end. Streams are independent draws from the same world; a run's data seed
        chooses its stream (stream 0 is the first suite's). Design 6 opens each with <eos>, as
        the harness opens each question."""
        rng = np.random.default_rng([self.seed, 1, index] if stream == 0 else [self.seed, 1, index, stream])
        tokens: list[int] = [self.ids["<eos>"]] if self.opens_with_eos else []
        while len(tokens) < CONTEXT + 1:
            kind = self.kinds[_draw_rank(rng, self.kind_cdf)]
            tokens += self.encode(self._document(kind, rng)) + [self.ids["<eos>"]]
        return np.array(tokens[: CONTEXT + 1], dtype=np.int64)

    def batch(self, step: int, batch_size: int, stream: int = 0) -> np.ndarray:
        """The batch of training step `step`: sequences step·B … step·B + B − 1 of `stream`."""
        return np.stack([self.sequence(step * batch_size + i, stream) for i in range(batch_size)])

    @cached_property
    def test_prompts(self) -> frozenset[tuple[str, ...]]:
        """The prompts of every test question (fine-tuning never shows one)."""
        return frozenset(q.prompt for questions in self.questions.values() for q in questions)

    def _question_instance(self, task: str, rng: np.random.Generator) -> tuple[tuple[str, ...], str]:
        """One question of `task` in its test format, drawn as in the training stream."""
        world = self.world
        if task == "knowledge":
            return world.knowledge_fact(_draw_rank(rng, world.person_cdf), int(rng.integers(N_RELATIONS)))
        if task == "arithmetic":
            return arithmetic_instance(rng, _arithmetic_depth(rng))
        if task == "causal":
            prompt, answer, _ = world.causal_instance(rng, _causal_rules(rng))
        else:
            prompt, answer, _ = world.spatial_instance(rng)
        return prompt, answer

    def finetune_sequence(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Fine-tuning sequence `index`: question-answer pairs of the four tasks in equal shares,
        each as `<eos> prompt answer` (the format the harness scores), never a test question; and a
        mask over the CONTEXT targets that is true where the target is an answer."""
        rng = np.random.default_rng([self.seed, 3, index])
        eos = self.ids["<eos>"]
        tokens: list[int] = []
        answers: list[int] = []
        while len(tokens) < CONTEXT + 1:
            prompt, answer = self._question_instance(TASKS[int(rng.integers(len(TASKS)))], rng)
            if prompt in self.test_prompts:
                continue
            tokens += [eos, *self.encode(prompt)]
            for word in answer.split():
                answers.append(len(tokens))
                tokens.append(self.ids[word])
        mask = np.zeros(CONTEXT, dtype=bool)
        targets = np.array(answers) - 1  # target j is token j + 1
        mask[targets[targets < CONTEXT]] = True
        return np.array(tokens[: CONTEXT + 1], dtype=np.int64), mask

    def finetune_batch(self, step: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The tokens and answer masks of fine-tuning step `step`."""
        pairs = [self.finetune_sequence(step * batch_size + i) for i in range(batch_size)]
        return np.stack([t for t, _ in pairs]), np.stack([m for _, m in pairs])

    @cached_property
    def questions(self) -> dict[str, list[Question]]:
        """QUESTIONS_PER_TASK test questions per task, fixed by the seed."""
        return {task: self._questions(task) for task in TASKS}

    def _questions(self, task: str) -> list[Question]:
        rng = np.random.default_rng([self.seed, 2, TASKS.index(task)])
        world, found, seen = self.world, [], set()
        while len(found) < QUESTIONS_PER_TASK:
            if task == "knowledge":
                rank = int(np.exp(rng.uniform(0, np.log(len(world.people))))) - 1
                relation = int(rng.integers(N_RELATIONS))
                if (rank, relation) in seen:
                    continue
                seen.add((rank, relation))
                prompt, answer = world.knowledge_fact(rank, relation)
                found.append(Question(task, prompt, answer, float(rank + 1), VALUES_PER_RELATION, 1 / VALUES_PER_RELATION))
                continue
            if task == "arithmetic":
                depth = _arithmetic_depth(rng)
                prompt, answer = arithmetic_instance(rng, depth)
                question = Question(task, prompt, answer, float(depth), MAX_NUMBER + 1, 1 / (MAX_NUMBER + 1))
            elif task == "causal":
                prompt, answer, rank = world.causal_instance(rng, _causal_rules(rng))
                question = Question(task, prompt, answer, float(rank + 1), N_EVENTS, 1 / N_EVENTS)
            else:
                prompt, answer, furniture = world.spatial_instance(rng)
                question = Question(task, prompt, answer, float(furniture + 1), N_ROOMS, 1 / N_ROOMS)
            if (task not in HELD_OUT or _is_test_instance(prompt)) and prompt not in seen:
                seen.add(prompt)
                found.append(question)
        return found
