"""The reversible tokenizer (translation, captioning): round trips, Python/TF twins, export, no TF in training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from zoo.text import ReversibleTokenizer

TEXTS = [
    "Hello, world!",
    "2021-03-04 at 10:30, costs $4.50 (approx.)",
    "don't stop-me-now; it's O'Brien's \"quote\"",
    "Café naïve Straße Ærøskøbing ΣΑΣ İstanbul ﬁne",
    "北京欢迎你。東京は晴れ、서울 비",
    "emoji 🙂👍🏽 ❤️ 👨\u200d👩\u200d👧 ok",
    "  multiple   spaces\tand\ttabs\nand newlines  ",
    "e\u0301te\u0301 (combining accents) नमस्ते दुनिया مرحبا بالعالم",
    "x\u00a0y\u3000z\u2003w non-breaking and ideographic spaces",
    "a literal \u2581 mark, NUL\x00here and _under_scores_",
    "",
    "   \t  ",
    "...!?",
]
# For the twins: words the vocabulary has never seen, in a cased and a lowercased tokenizer.
UNSEEN = [*TEXTS, "Unseen WORDS zzz qqq", "Ⓐⓑ ½ ² Ⅻ ‰ ©", "ΣΑΣ ΌΣΟΣ"]


def normalised(text: str) -> str:
    return " ".join(text.replace("\u2581", " ").replace("\x00", " ").split())


def strings(tensor) -> list[str]:
    return [s.decode("utf-8") for s in tensor.numpy()]


@pytest.fixture(scope="module")
def word():
    return ReversibleTokenizer.fit(TEXTS, max_tokens=1000)


@pytest.fixture(scope="module")
def subword():
    return ReversibleTokenizer.fit(TEXTS * 3, max_tokens=400, kind="subword")


def test_word_tokens_are_reversible_sentencepiece_style():
    tok = ReversibleTokenizer.fit(["x"], max_tokens=10)
    assert tok.tokens("Hello, world!") == ["Hello", ",", "▁world", "!"]
    assert tok.tokens("2021-03-04") == ["2021", "-", "03", "-", "04"]
    assert tok.tokens("  Café   naïve\tStraße ") == ["Café", "▁naïve", "▁Straße"]
    assert tok.tokens("e\u0301t\u00e9!") == ["e\u0301t\u00e9", "!"]  # a combining accent stays in its word
    assert tok.tokens("🙂👍 ok") == ["🙂", "👍", "▁ok"]
    assert tok.tokens("   ") == []
    assert (tok.pad_id, tok.oov_id, tok.start_id, tok.end_id) == (0, 1, 2, 3)
    assert tok.vocabulary[:4] == ["", "[UNK]", "[START]", "[END]"]


@pytest.mark.parametrize("kind", ["word", "subword"])
def test_decode_of_encode_gives_the_normalised_text(kind, word, subword):
    tok = word if kind == "word" else subword
    ids = tok.encode(TEXTS, sequence_length=200, add_start=True, add_end=True)
    assert 1 not in ids  # every token/character was seen in training
    assert tok.decode(ids) == [normalised(t) for t in TEXTS]
    nonempty = [t for t in TEXTS if t.strip()]  # without START/END an empty text is one OOV id, "[UNK]"
    assert tok.decode(tok.encode(nonempty, sequence_length=200)) == [normalised(t) for t in nonempty]
    assert [tok.normalize(t) for t in TEXTS] == [normalised(t) for t in TEXTS]


def test_lowercase_option_lowercases_before_splitting():
    tok = ReversibleTokenizer.fit(TEXTS, max_tokens=1000, lowercase=True)
    assert tok.tokens("Hello, WORLD!") == ["hello", ",", "▁world", "!"]
    assert tok.decode(tok.encode(["Café NAÏVE, ok"], 10)) == ["café naïve, ok"]
    assert all(t == t.lower() for t in tok.vocabulary[4:])


@pytest.mark.parametrize("kind", ["word", "subword"])
@pytest.mark.parametrize("lowercase", [False, True])
def test_tensorflow_twins_agree_id_for_id_and_string_for_string(kind, lowercase):
    tok = ReversibleTokenizer.fit(TEXTS * (3 if kind == "subword" else 1), 400, kind=kind, lowercase=lowercase)
    encode = tf.function(lambda texts, start, end: tok.tf_encode(texts, 12, add_start=start, add_end=end),
                         reduce_retracing=True)
    decode = tf.function(tok.tf_decode, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    for start in (False, True):
        for end in (False, True):
            spec = tf.TensorSpec([None], tf.string)
            got = encode.get_concrete_function(spec, start, end)(tf.constant(UNSEEN)).numpy()
            expected = tok.encode(UNSEEN, 12, add_start=start, add_end=end)
            np.testing.assert_array_equal(got, expected)
            assert strings(decode(tf.constant(got))) == tok.decode(expected)
    full = tok.encode(UNSEEN, 200, add_end=True)
    assert 1 in full  # unknown words (word) and unseen characters (subword) are out of vocabulary
    assert strings(decode(tf.constant(full))) == tok.decode(full)


def test_twins_split_alike_at_every_unicode_category_boundary():
    """Letters/marks/digits vs the rest vs whitespace, at each boundary of Python's Unicode tables."""
    def group(cp):
        c = chr(cp)
        return 0 if c.isspace() else 1 if unicodedata.category(c)[0] in "LMN" else 2

    points, last = [], None
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        g = group(cp)
        if g != last:
            points += [cp - 1, cp] if cp and not 0xD800 <= cp - 1 <= 0xDFFF else [cp]
        last = g
    chars = "".join(chr(cp) for cp in points)
    texts = [chars[i: i + 40] for i in range(0, len(chars), 40)]
    tok = ReversibleTokenizer.fit(texts, max_tokens=100_000)
    got = tok.tf_encode(tf.constant(texts), 64).numpy()
    np.testing.assert_array_equal(got, tok.encode(texts, 64))
    assert strings(tok.tf_decode(tf.constant(got))) == tok.decode(got) == [normalised(t) for t in texts]


def test_start_end_truncation_and_empty_texts():
    tok = ReversibleTokenizer.fit(["a b c d e"], max_tokens=100)
    a, b, c = (tok.vocabulary.index(t) for t in ("a", "▁b", "▁c"))
    ids = tok.encode(["a b c d e", "a", "", "  "], 4, add_start=True, add_end=True)
    assert ids.dtype == np.int32 and ids.shape == (4, 4)
    np.testing.assert_array_equal(ids, [[2, a, b, 3], [2, a, 3, 0], [2, 3, 0, 0], [2, 3, 0, 0]])
    np.testing.assert_array_equal(tok.encode(["a b c d e", ""], 4, add_start=True), [[2, a, b, c], [2, 0, 0, 0]])
    np.testing.assert_array_equal(tok.encode(["a b c d e", ""], 3, add_end=True), [[a, b, 3], [3, 0, 0]])
    np.testing.assert_array_equal(tok.encode(["a b c", "", "zzz b"], 2), [[a, b], [1, 0], [1, b]])
    np.testing.assert_array_equal(tok.encode(["a b c d e"], 2, add_start=True, add_end=True), [[2, 3]])
    np.testing.assert_array_equal(tok.lengths(["a b c d e", "", "zzz"]), [5, 0, 1])
    with pytest.raises(ValueError, match="no room"):
        tok.encode(["a"], 1, add_start=True, add_end=True)
    with pytest.raises(ValueError, match="no room"):
        tok.tf_encode(tf.constant(["a"]), 0)


def test_unknown_words_are_out_of_vocabulary_and_decode_as_unk():
    tok = ReversibleTokenizer.fit(["Hello world!"], max_tokens=100)
    ids = tok.encode(["Hello brave new world!", "Zork!"], 8, add_end=True)
    hello, world, bang = (tok.vocabulary.index(t) for t in ("Hello", "▁world", "!"))
    assert ids[0].tolist() == [hello, 1, 1, world, bang, 3, 0, 0]
    assert tok.decode(ids) == ["Hello [UNK] [UNK] world!", "[UNK]!"]
    sub = ReversibleTokenizer.fit(["hello world"] * 5, max_tokens=30, kind="subword")
    assert 1 in sub.encode(["hello wörld"], 20)[0]  # "ö" was never seen


@pytest.mark.parametrize("kind", ["word", "subword"])
def test_decode_rules_and_their_tensorflow_twin(kind, word, subword):
    tok = word if kind == "word" else subword
    h = next(i for i, t in enumerate(tok.vocabulary) if t.startswith("▁") and len(t) > 1 and "▁" not in t[1:])
    s = tok.vocabulary[h][1:]  # a token with a space mark decodes as a word of its own
    rows = [[2, h, 2, h, 3, h],         # START anywhere is skipped, END stops
            [h, 0, h, h, 3, 3],         # PAD stops too
            [1, h, 1, 9999, -5, 3],     # OOV and ids out of range decode as [UNK], a word of its own
            [3, h, h, h, h, h],         # END first: empty
            [h, h, h, h, h, h]]         # no END: the whole row
    expected = [f"{s} {s}", s, f"[UNK] {s} [UNK] [UNK] [UNK]", "", " ".join([s] * 6)]
    assert tok.decode(np.array(rows)) == expected
    assert tok.decode([[2, h, 3], [h]]) == [s, s]  # ragged lists are fine
    assert strings(tok.tf_decode(tf.constant(rows, dtype=tf.int32))) == expected
    assert strings(tok.tf_decode(tf.constant(rows, dtype=tf.int64))) == expected
    with pytest.raises(ValueError, match="2-D"):
        tok.decode(np.array([h, h]))
    if "▁" in tok.vocabulary:  # a lone space mark (a subword piece) next to another: still one space
        m = tok.vocabulary.index("▁")
        odd = [[m, m, h, m, m, h, m, 3]]
        assert tok.decode(odd) == strings(tok.tf_decode(tf.constant(odd))) == [f"{s} {s}"]
    assert tok.encode([], 5).shape == tuple(tok.tf_encode(tf.constant([], tf.string), 5).shape) == (0, 5)


def test_vocabulary_is_deterministic_and_respects_max_tokens():
    tok = ReversibleTokenizer.fit(["b a", "a c", "a b"], max_tokens=100)
    assert tok.vocabulary == ["", "[UNK]", "[START]", "[END]", "a", "b", "▁a", "▁b", "▁c"]  # count, then alphabet
    assert ReversibleTokenizer.fit(["b a", "a c", "a b"], max_tokens=6).vocabulary == tok.vocabulary[:6]
    assert ReversibleTokenizer.fit(TEXTS, 50).vocabulary == ReversibleTokenizer.fit(list(TEXTS), 50).vocabulary
    assert ReversibleTokenizer.fit(TEXTS, 50).vocab_size == 50
    with pytest.raises(ValueError, match="reserved"):
        ReversibleTokenizer.fit(TEXTS, 3)
    nothing = ReversibleTokenizer.fit(TEXTS, 4)  # the reserved ids only: every token is out of vocabulary
    assert nothing.vocab_size == 4
    np.testing.assert_array_equal(nothing.tf_encode(tf.constant(["a b", ""]), 3, True).numpy(), [[2, 1, 1], [2, 0, 0]])
    np.testing.assert_array_equal(nothing.encode(["a b", ""], 3, True), [[2, 1, 1], [2, 0, 0]])

    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=rng.integers(2, 9))) for _ in range(400)]
    corpus = [" ".join(rng.choice(words, size=12)).capitalize() + "." for _ in range(1500)]
    one = ReversibleTokenizer.fit(corpus, 300, kind="subword")
    two = ReversibleTokenizer.fit(corpus, 300, kind="subword")
    assert one.model == two.model and one.vocabulary == two.vocabulary
    assert one.vocab_size == 300  # enough data: exactly max_tokens
    bpe = ReversibleTokenizer.fit(corpus, 300, kind="subword", model_type="bpe")
    assert bpe.vocab_size <= 300 and bpe.decode(bpe.encode(corpus[:5], 100)) == corpus[:5]
    small = ReversibleTokenizer.fit(["hello world"], 1000, kind="subword")  # too little data: fewer pieces
    assert small.vocab_size < 1000 and small.decode(small.encode(["hello world"], 20)) == ["hello world"]
    with pytest.raises(ValueError, match="too small for a subword vocabulary"):
        ReversibleTokenizer.fit(["hello world"], 11, kind="subword")  # 4 + "▁helowrd" is 12


@pytest.mark.parametrize("kind", ["word", "subword"])
def test_save_and_load_round_trip(tmp_path, kind, word, subword):
    tok = word if kind == "word" else subword
    tok.save(tmp_path / "tok")
    again = ReversibleTokenizer.load(tmp_path / "tok")
    assert (again.kind, again.lowercase, again.vocabulary) == (tok.kind, tok.lowercase, tok.vocabulary)
    np.testing.assert_array_equal(again.encode(UNSEEN, 30, True, True), tok.encode(UNSEEN, 30, True, True))
    lines = (tmp_path / "tok" / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == tok.vocabulary
    assert json.loads((tmp_path / "tok" / "tokenizer.json").read_text())["kind"] == kind
    assert (tmp_path / "tok" / "sentencepiece.model").exists() == (kind == "subword")


@pytest.mark.slow
def test_export_round_trip_in_a_process_without_zoo(tmp_path, word, subword):
    import keras

    length = 24

    def endpoints(tok):
        encode = tf.function(lambda texts: tok.tf_encode(texts, length, add_start=True, add_end=True),
                             input_signature=[tf.TensorSpec([None], tf.string)])
        return encode, tf.function(tok.tf_decode, input_signature=[tf.TensorSpec([None, None], tf.int32)])

    # Word: a Keras ExportArchive (string endpoints need the TensorFlow backend); subword: a plain tf.Module.
    modules = [("subword", subword)]
    if keras.backend.backend() == "tensorflow":
        archive = keras.export.ExportArchive()
        for resource in word.tf_resources():
            archive.track(resource)
        encode, decode = endpoints(word)
        archive.add_endpoint("encode", encode)
        archive.add_endpoint("decode", decode)
        archive.write_out(str(tmp_path / "word"), verbose=False)
    else:
        modules.append(("word", word))
    for kind, tok in modules:
        module = tf.Module()
        module.resources = tok.tf_resources()
        module.encode, module.decode = endpoints(tok)
        tf.saved_model.save(module, str(tmp_path / kind))

    script = textwrap.dedent("""
        import json, sys
        import tensorflow as tf
        import tensorflow_text  # registers the SentencePiece ops
        texts = json.loads(sys.argv[2])
        out = {}
        for kind in ("word", "subword"):
            model = tf.saved_model.load(f"{sys.argv[1]}/{kind}")
            ids = model.encode(tf.constant(texts))
            out[kind] = {"ids": ids.numpy().tolist(), "texts": [s.decode() for s in model.decode(ids).numpy()]}
        assert "zoo" not in sys.modules
        print(json.dumps(out))
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path), json.dumps(UNSEEN)], capture_output=True,
                            text=True, cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for kind, tok in (("word", word), ("subword", subword)):
        expected = tok.encode(UNSEEN, length, add_start=True, add_end=True)
        assert out[kind]["ids"] == expected.tolist()
        assert out[kind]["texts"] == tok.decode(expected)
    assert out["word"]["texts"][:len(TEXTS)] == [normalised(t) for t in TEXTS]


def test_python_side_imports_no_tensorflow(tmp_path):
    script = textwrap.dedent("""
        import sys
        from zoo.text import ReversibleTokenizer
        texts = ["Hello, world!", "Café naïve Straße", "北京欢迎你"] * 3
        for kind in ("word", "subword"):
            tok = ReversibleTokenizer.fit(texts, 100, kind=kind)
            ids = tok.encode(texts, 20, add_start=True, add_end=True)
            assert tok.decode(ids) == texts, tok.decode(ids)
            assert tok.lengths(texts).min() > 0 and tok.tokens(texts[0])
            tok.save(sys.argv[1] + "/" + kind)
            assert ReversibleTokenizer.load(sys.argv[1] + "/" + kind).vocabulary == tok.vocabulary
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tensorflow_text", "tf_keras"))
        assert not loaded, loaded
        print("ok")
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
