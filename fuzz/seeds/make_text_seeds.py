#!/usr/bin/python3
"""Writes the table and tokenizer seeds of fuzz/corpus from data/ (the first few KB of each
real file, cut at a line end) plus a few hand-made edge cases. Run by `scripts/fuzz --seeds`;
the outputs are committed.

    make_text_seeds.py <repository root> <corpus dir>
"""
import json
import os
import sys


def head(path, limit):
    """The first `limit` bytes of a file, cut back to the last complete line."""
    with open(path, "rb") as f:
        data = f.read(limit)
    cut = data.rfind(b"\n")
    return data[: cut + 1] if cut > 0 else data


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def main():
    root, out = sys.argv[1], sys.argv[2]
    data = os.path.join(root, "data")
    table = os.path.join(out, "table")
    for name, limit in [("airline_passengers.csv", 2048), ("monthly_sunspots.csv", 1024),
                        ("japanese_vowels_train.csv", 2048), ("japanese_vowels_test.csv", 1024),
                        ("sentiment_labelled_sentences.tsv", 2048),
                        ("seq2seq_dates.tsv", 1024)]:
        write(os.path.join(table, name), head(os.path.join(data, name), limit))
    # Edge cases: RFC 4180 quotes, CRLF, a BOM, missing values, a semicolon separator.
    write(os.path.join(table, "quoted.csv"),
          'id,text,value\r\n1,"a, b",1.5\r\n2,"say ""hi""\nagain",NA\r\n3, "x" ,-2e3\r\n\r\n')
    write(os.path.join(table, "bom_semicolon.csv"), b"\xef\xbb\xbfa;b\n1;2\n3;\n")
    write(os.path.join(table, "utf8.tsv"), "mot\tcompte\n\u00e9t\u00e9\t3\n\u65e5\u672c\t?\n")

    tok = os.path.join(out, "tokenizer")
    write(os.path.join(tok, "shakespeare.txt"), head(os.path.join(data, "tinyshakespeare.txt"), 2048))
    sentences = head(os.path.join(data, "sentiment_labelled_sentences.tsv"), 3000).decode()
    write(os.path.join(tok, "sentences.txt"),
          "\n".join(line.split("\t")[-1] for line in sentences.splitlines()[1:]) + "\n")
    write(os.path.join(tok, "dates.txt"), head(os.path.join(data, "seq2seq_dates.tsv"), 1024))
    write(os.path.join(tok, "unicode.txt"),
          "\u00c9T\u00c9 \u00e0 Paris!\n\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\n"
          "emoji \U0001f600\U0001f600 tab\there\r\nfilters: !\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\n")

    tj = os.path.join(out, "tokenizer_json")
    base = {"class_name": "Tokenizer", "level": "word", "lower": True,
            "filters": "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n", "punctuation_tokens": False,
            "num_words": 0, "min_count": 1, "oov_token": "<OOV>",
            "vocabulary": ["the", "a", "quick", "fox", "dog"]}
    write(os.path.join(tj, "word.json"), json.dumps(base))
    write(os.path.join(tj, "character.json"),
          json.dumps({"class_name": "Tokenizer", "level": "character", "lower": False,
                      "num_words": 10, "vocabulary": ["e", "t", " ", "\u00e9", "\U0001f600"]}))
    write(os.path.join(tj, "minimal.json"),
          json.dumps({"class_name": "Tokenizer", "level": "word", "vocabulary": []}))
    write(os.path.join(tj, "punctuation.json"),
          json.dumps(dict(base, punctuation_tokens=True, num_words=4, filters=".,!",
                          vocabulary=["the", "."])))
    write(os.path.join(tj, "repeated.json"),  # rejected: a repeated token
          json.dumps(dict(base, vocabulary=["a", "a"])))


if __name__ == "__main__":
    main()
