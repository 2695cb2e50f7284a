"""Generates the three small corpora of the reference engine (data/*.txt), deterministically.

They differ in kind on purpose, so that a change of data-mix weights visibly moves per-source loss:
English-like prose, C-like source code, and integer arithmetic. Run: python3 scripts/make-corpora.py
"""
import random

SIZE = 200_000


def prose(rng: random.Random) -> str:
    subjects = ["the engineer", "a small team", "the old sailor", "my neighbour", "the committee", "every student",
                "the river", "a quiet city", "the orchestra", "our grandmother", "the machine", "a travelling merchant"]
    verbs = ["watched", "remembered", "carried", "described", "followed", "repaired", "painted", "discovered",
             "questioned", "welcomed", "measured", "forgot"]
    objects = ["the long road home", "a letter from the north", "the lights of the harbour", "an unfinished song",
               "the price of bread", "the first snow of winter", "a map without names", "the sound of the bells",
               "an argument about time", "the garden behind the school"]
    tails = ["before the evening train left", "while the rain kept falling", "because nobody else would",
             "and then walked slowly away", "with great patience", "as the morning grew warm",
             "without saying a word", "for the second time that year"]
    out = []
    while sum(map(len, out)) < SIZE:
        sentences = []
        for _ in range(rng.randint(3, 6)):
            s = f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} {rng.choice(tails)}."
            sentences.append(s[0].upper() + s[1:])
        out.append(" ".join(sentences) + "\n\n")
    return "".join(out)[:SIZE]


def code(rng: random.Random) -> str:
    names = ["count", "total", "index", "value", "buffer", "limit", "offset", "result", "node", "size"]
    types = ["int", "long", "size_t", "float", "double"]
    out = []
    while sum(map(len, out)) < SIZE:
        fn = rng.choice(["sum", "scale", "find", "clamp", "reduce", "update", "merge"]) + "_" + rng.choice(names)
        a, b, c = rng.sample(names, 3)
        t = rng.choice(types)
        body = [f"{t} {fn}({t} *{a}, size_t {b}) {{", f"    {t} {c} = 0;",
                f"    for (size_t i = 0; i < {b}; i++) {{"]
        for _ in range(rng.randint(1, 3)):
            op = rng.choice(["+=", "-=", "*="])
            body.append(f"        {c} {op} {a}[i] * {rng.randint(2, 9)};")
        body.append(f"        if ({c} > {rng.randint(10, 999)}) {{\n            break;\n        }}")
        body += ["    }", f"    return {c};", "}", ""]
        out.append("\n".join(body) + "\n")
    return "".join(out)[:SIZE]


def arithmetic(rng: random.Random) -> str:
    out = []
    while sum(map(len, out)) < SIZE:
        a, b = rng.randint(0, 999), rng.randint(0, 999)
        op = rng.choice("+-*")
        value = a + b if op == "+" else a - b if op == "-" else a * b
        out.append(f"{a}{op}{b}={value}\n")
    return "".join(out)[:SIZE]


def main() -> None:
    for name, make in [("prose", prose), ("code", code), ("arithmetic", arithmetic)]:
        with open(f"data/{name}.txt", "w", encoding="utf-8") as handle:
            handle.write(make(random.Random(name)))


if __name__ == "__main__":
    main()
