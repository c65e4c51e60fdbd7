"""Launched by tests/test_distributed_trainer.py as
``torchrun --standalone --nproc_per_node 2 tests/_torchrun_sdwgan.py OUT``.

Trains a semi-discrete WGAN for 2 iterations, checkpoints, trains 2 more ("straight"), then
resumes a fresh trainer from the checkpoint for 2 iterations ("resumed"); rank 0 writes what the
test compares.
"""

import datetime
import gc
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from otgan.gan.trainer import Trainer

DATA = torch.tensor([[0.9, 0.2], [0.75, 0.8], [0.3, 0.4], [0.4, 0.7], [0.45, 0.75],
                     [0.7, 0.5], [0.1, 0.1]], dtype=torch.float64)  # shards of 4 and 3 sites
KW = {"loss": "sdwgan", "seed": 3, "dtype": torch.float64, "batch_size": 8, "n_inner": 3,
      "eval_every": 2, "eval_size": 16, "snapshot_at": (0, 4), "snapshot_grid": (0, 1, 0, 1),
      "grid_size": 8}


def state(tr):
    return {"psi": tr.gathered_psi().clone(),
            "params": [p.detach().clone() for p in tr.generator.parameters()],
            "g_loss": tr.history.g_loss, "w2": tr.history.w2, "lip": tr.history.lip_mean}


def main(out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=90))
    try:
        train(out)
        gc.collect()  # release the DDP reducers before the process group
        dist.barrier()
    finally:
        dist.destroy_process_group()


def train(out):
    tr = Trainer(DATA, **KW)
    gen_states = [None] * dist.get_world_size()
    dist.all_gather_object(gen_states, tr.streams.train.get_state())
    shard = (tr.game.shard, tuple(tr.psi.shape))
    shards = [None] * dist.get_world_size()
    dist.all_gather_object(shards, shard)
    tr.run(2)
    tr.save(out / "ckpt.pt")
    first = state(tr)
    tr.run(2)
    straight = state(tr)
    snaps = [(s.iteration, s.psi, s.grid_values) for s in tr.snapshots]
    again = Trainer(DATA, **KW).load(out / "ckpt.pt").run(2)
    resumed = state(again)
    if dist.get_rank() == 0:
        torch.save({"gen_states": gen_states, "shards": shards, "first": first,
                    "straight": straight, "resumed": resumed, "snapshots": snaps,
                    "world": dist.get_world_size()}, out / "result.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
