#!/usr/bin/env python3
"""DiLoCo with torchft, orchestrated by Intermesh.

Each replica group is one `torchrun` process started by its site's agent. torchft's Manager uses the control plane as
its Lighthouse (TORCHFT_LIGHTHOUSE, set by the agent) and names itself with TORCHFT_REPLICA_ID (set by the plan), so
its heartbeats and quorums are the run's membership. Everything else comes from the plan (INTERMESH_PLAN): the model,
the data mix, the inner and outer optimizers, the sync interval, the minimum number of replicas.

After every outer step each group logs one JSON line, `{"event": "outer", "slot", "outer_step", "loss", "hash",
"participants", "time"}`, as the reference engine does (`intermesh up` summarizes these lines): `hash` is a digest of the
parameters, equal in every group that took part in the step.
"""
import hashlib
import json
import os
import random
import sys
import time
from datetime import timedelta

import torch
from torch import nn
from torchft import Manager, ProcessGroupGloo
from torchft.local_sgd import DiLoCo


class ByteMLP(nn.Module):
    """Next-byte prediction from a window of bytes: embedding, hidden layers, logits."""

    def __init__(self, model):
        super().__init__()
        context, width = model["sequenceLength"], model["hiddenSize"]
        self.embedding = nn.Embedding(model["vocabSize"], model["embeddingSize"])
        layers = [nn.Linear(context * model["embeddingSize"], width), nn.GELU()]
        for _ in range(model["layers"] - 1):
            layers += [nn.Linear(width, width), nn.GELU()]
        layers.append(nn.Linear(width, model["vocabSize"]))
        self.body = nn.Sequential(*layers)

    def forward(self, tokens):
        return self.body(self.embedding(tokens).flatten(1))


class Mix:
    """The spec's data mix: each batch row comes from a source drawn by weight, at a random offset."""

    def __init__(self, sources, context, seed):
        self.context = context
        self.random = random.Random(seed)
        self.sources = []
        for source in sources:
            with open(source["path"], "rb") as file:
                data = torch.tensor(list(file.read()), dtype=torch.long)
            if len(data) <= context + 1:
                sys.exit(f"{source['path']}: shorter than the context of {context} bytes")
            self.sources.append((source["weight"], data))

    def batch(self, size):
        weights = [weight for weight, _ in self.sources]
        rows = []
        for _ in range(size):
            _, data = self.random.choices(self.sources, weights)[0]
            start = self.random.randrange(len(data) - self.context - 1)
            rows.append(data[start : start + self.context + 1])
        window = torch.stack(rows)
        return window[:, :-1], window[:, -1]


def digest(model):
    hasher = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        hasher.update(name.encode())
        hasher.update(bytes(tensor.detach().cpu().contiguous().flatten().view(torch.uint8).tolist()))
    return hasher.hexdigest()[:16]


def main():
    torch.set_num_threads(1)
    with open(os.environ["INTERMESH_PLAN"]) as file:
        spec = json.load(file)["run"]["spec"]
    training, policy = spec["training"], spec["faultPolicy"]
    shard = int(os.environ.get("INTERMESH_DATA_SHARD", "0"))
    slot = os.environ.get("INTERMESH_SLOT", "")
    # One seed for the parameters: every group starts from the same model; its own for the data.
    torch.manual_seed(training["seed"])
    model = ByteMLP(spec["model"])
    mix = Mix(spec["data"]["mix"], spec["model"]["sequenceLength"], training["seed"] + shard)
    inner_spec = training["innerOptimizer"]
    inner = torch.optim.AdamW(model.parameters(), lr=inner_spec["lr"], betas=(inner_spec["beta1"], inner_spec["beta2"]),
                              weight_decay=inner_spec["weightDecay"])
    outer_spec = training["outerOptimizer"]
    outer = torch.optim.SGD(model.parameters(), lr=outer_spec["lr"], momentum=outer_spec["momentum"], nesterov=True)

    def load_state_dict(state):
        model.load_state_dict(state["model"])
        inner.load_state_dict(state["inner"])

    def state_dict():
        return {"model": model.state_dict(), "inner": inner.state_dict()}

    manager = Manager(
        pg=ProcessGroupGloo(timeout=timedelta(seconds=30)),
        min_replica_size=policy["minReplicas"],
        load_state_dict=load_state_dict,
        state_dict=state_dict,
        replica_id=os.environ["TORCHFT_REPLICA_ID"],
        use_async_quorum=False,
        timeout=timedelta(seconds=30),
        quorum_timeout=timedelta(seconds=120),
        connect_timeout=timedelta(seconds=30),
    )
    loss_fn = nn.CrossEntropyLoss()
    limit = training.get("outerSteps")
    print(json.dumps({"event": "start", "slot": slot, "replica_id": os.environ["TORCHFT_REPLICA_ID"], "time": time.time()}), flush=True)
    with DiLoCo(manager, [model], inner, outer, sync_every=training["innerSteps"], backup_device=torch.device("cpu"),
                pin_memory=False):
        step = manager.current_step()
        while limit is None or step < limit:
            tokens, targets = mix.batch(training["batchSize"])
            loss = loss_fn(model(tokens), targets)
            inner.zero_grad()
            loss.backward()
            if inner_spec["gradClip"] > 0:
                nn.utils.clip_grad_norm_(model.parameters(), inner_spec["gradClip"])
            inner.step()
            if manager.current_step() != step:
                step = manager.current_step()
                print(json.dumps({"event": "outer", "slot": slot, "outer_step": step, "loss": round(loss.item(), 5),
                                  "hash": digest(model), "participants": manager.num_participants(), "time": time.time()}),
                      flush=True)
    manager.shutdown(wait=False)


if __name__ == "__main__":
    main()
