import io, os, sys, contextlib, hashlib, json, subprocess
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from zoo.cli import main
import zoo
S = "builtin:negation,n=400"
os.makedirs("w", exist_ok=True); os.chdir("w")
open("notes.txt", "w").write("x")
open("empty.csv", "w").write("")
open("header_only.csv", "w").write("text,label\n")
open("one_class.csv", "w").write("text,label\n" + "".join(f"t{i},pos\n" for i in range(50)))
open("bom.csv", "wb").write(b"\xef\xbb\xbftext;label\nhello;pos\n")
open("quote.csv", "w").write('text,label\n"good movie,pos\nbad,neg\n')
open("bad.toml", "w").write("entry = 'sentiment/gru'\ndata = \n")
open("unknown_key.toml", "w").write("entry='sentiment/gru'\ndata='builtin:negation'\nmax_trails=3\n")
open("preset_wrong.json", "w").write(json.dumps({"entry": "sentiment/lstm", "hyperparameters": {"units": 32}}))
open("preset_list.json", "w").write("[1,2]")
open("preset_bad_value.json", "w").write(json.dumps({"entry": "sentiment/gru", "hyperparameters": {"units": 9999}}))
os.makedirs("emptydir", exist_ok=True)
zoo.train("sentiment/bag_of_embeddings", S, "run", epochs=1, verbose=0)
cases = [
    ["train", "sentiment/lstm", "--data", S, "--out", "r1", "--epochs", "-1"],
    ["train", "sentiment/lstm", "--data", S, "--out", "r1", "--batch-size", "0"],
    ["train", "sentiment/lstm", "--data", S, "--out", "r1", "--set", "units"],
    ["train", "sentiment/lstm", "--data", S, "--out", "r1", "--set", "units=abc"],
    ["train", "sentiment/lstm", "--data", S, "--out", "r1", "--set", "learning_rate=inf"],
    ["train", "sentiment/lstm", "--data", S, "--out", "r1", "--set", "max_length=0"],
    ["train", "sentiment/nope", "--data", S, "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:empty.csv", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:header_only.csv", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:one_class.csv", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:bom.csv", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:quote.csv", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:emptydir", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "csv:quote.csv,bad_rows=maybe", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "tfds:", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", "builtin:negation,n=-3", "--out", "r1"],
    ["train", "sentiment/lstm", "--data", S, "--out", "run"],
    ["train", "sentiment/lstm", "--data", S, "--out", "emptydir/../notes.txt"],
    ["train", "sentiment/lstm", "--data", S, "--out", "r1", "--preset", "preset_wrong.json"],
    ["train", "sentiment/gru", "--data", S, "--out", "r1", "--preset", "preset_list.json"],
    ["train", "sentiment/gru", "--data", S, "--out", "r1", "--preset", "preset_bad_value.json"],
    ["tune", "--config", "bad.toml", "--out", "t1"],
    ["tune", "--config", "unknown_key.toml", "--out", "t1"],
    ["tune", "sentiment/gru", "--data", S, "--out", "t1", "--objective", "val_f1"],
    ["tune", "sentiment/gru", "--data", S, "--out", "t1", "--space", "units=7,8"],
    ["tune", "sentiment/gru", "--data", S, "--out", "t1", "--set", "units=32", "--space", "units=32,64"],
    ["tune", "sentiment/gru", "--data", S, "--out", "run"],
    ["evaluate", "run", "--data", "csv:missing.csv"],
    ["evaluate", "notes.txt"],
    ["evaluate", "emptydir"],
    ["predict", "run"],
    ["predict", "nothing_here", "text"],
    ["export", "run", "--out", "notes.txt"],
    ["export", "run", "--out", "run"],
    ["describe", "sentiment/lsmt"],
    ["list", "--task", "poetry"],
    ["build", "sentiment/gru", "--set", "vocab_size=0"],
]
def snap():
    out = {}
    for root, _, names in os.walk("."):
        for n in names:
            p = os.path.join(root, n)
            out[p] = hashlib.md5(open(p, "rb").read()).hexdigest()
    return out
bad = 0
for argv in cases:
    before = snap()
    err = io.StringIO(); out = io.StringIO()
    sys.stdin = io.StringIO("")
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
        except BaseException as e:
            import traceback; traceback.print_exc(); code = "EXC"
    text = (out.getvalue() + err.getvalue()).strip()
    after = snap()
    ok = code == 2 and "Traceback" not in text and before == after
    bad += not ok
    last = [l for l in text.splitlines() if l.strip()]
    print(("OK  " if ok else "BAD ") + " ".join(argv)[:90], "->", code, "|", (last[-1] if last else "")[:220])
print("bad:", bad, "of", len(cases))
