"""The PyTorch peer of `deepgen train charlm --text FILE`: the same character-level language model and
training (one-hot characters into nn.LSTM/GRU/RNN layers, a linear layer to logits, cross-entropy
summed then divided by the counted targets; the first 90% of the lines train, read as --streams
parallel streams of --seq-len characters in order, the hidden state carried detached between chunks;
Adam, the global gradient norm clipped, loss.item() and the norm read each step). Prints one JSON line
per epoch with the training seconds. Runs on Debian's python3-torch, the LibTorch deepgen links, or on
PyPI's torch 2.x, there eager or with --compile: torch.compile of the per-chunk function (the forward
pass and the summed cross-entropy of one truncated-BPTT chunk, the carried state an input and an output
of it). What that compiles: TorchDynamo does not trace nn.LSTM/GRU/RNN (a graph break by default; with
torch._dynamo.config.allow_rnn = True, torch 2.15's Inductor fails on the mkldnn_rnn_layer it emits), so
the recurrent layers, and so the carried state, run eagerly between two compiled graphs: the one-hot
input before them, the output layer and the cross-entropy after them (each with its backward). The
count of targets, the clipping and Adam stay eager."""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn
from compile_option import add_compile_option, check_compile


def lines_of(text):  # as deepgen's lines_of: split after each '\n', the last line may lack one
    lines, begin = [], 0
    while begin < len(text):
        end = text.find("\n", begin)
        stop = len(text) if end < 0 else end + 1
        lines.append(text[begin:stop])
        begin = stop
    return lines


def stream_chunks(ids, streams, length):  # (N) -> (chunks, streams, length + 1), padded with -1
    row = ids.numel() // streams
    chunks = (row - 1 + length - 1) // length
    rows = ids[: streams * row].view(streams, row)
    rows = torch.cat([rows, torch.full((streams, chunks * length + 1 - row), -1, dtype=torch.long)], 1)
    return rows.unfold(1, length + 1, length).permute(1, 0, 2).contiguous()


class CharLm(nn.Module):
    def __init__(self, cell, vocab, hidden, layers):
        super().__init__()
        kind = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.vocab = vocab
        self.recurrent = kind(vocab, hidden, num_layers=layers, batch_first=True)
        self.output = nn.Linear(hidden, vocab)

    def forward(self, ids, state):
        out, state = self.recurrent(F.one_hot(ids, self.vocab).float(), state)
        return self.output(out), state


def detached(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--text", required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--streams", type=int, default=128)
    add_compile_option(parser)
    args = parser.parse_args()
    check_compile(args, "charlm_peer")
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    lines = lines_of(text)
    train = "".join(lines[: len(lines) * 9 // 10])
    symbols = sorted(set(text))
    index = {c: i for i, c in enumerate(symbols)}
    chunks = stream_chunks(torch.tensor([index[c] for c in train], dtype=torch.long), args.streams, args.seq_len)
    model = CharLm(args.cell, len(symbols), args.hidden, args.layers)

    def chunk_loss(inputs, targets, state):  # the summed cross-entropy of one chunk, and the state after it
        logits, state = model(inputs, state)
        loss = F.cross_entropy(logits.reshape(-1, len(symbols)), targets.reshape(-1), ignore_index=-1,
                               reduction="sum")
        return loss, state

    # Compiled: the one-hot input, and the output layer with the loss (and their backward), as Inductor
    # kernels; the recurrent layers (a graph break), the count of targets, the clipping and Adam stay eager.
    step_loss = torch.compile(chunk_loss, mode=args.compile) if args.compile else chunk_loss
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        state, total = None, 0.0
        for chunk in chunks:
            inputs, targets = chunk[:, :-1].clamp_min(0), chunk[:, 1:]
            loss, state = step_loss(inputs, targets, state)
            state = detached(state)
            loss = loss / int(targets.ge(0).sum().item())
            optimizer.zero_grad()
            loss.backward()
            float(nn.utils.clip_grad_norm_(model.parameters(), 5.0))  # deepgen logs the norm: read it too
            optimizer.step()
            total += loss.item()
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "loss": total / len(chunks), "steps": len(chunks),
                          "vocab": len(symbols), "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
