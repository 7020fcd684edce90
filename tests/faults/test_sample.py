"""Issue 10: no fault loses an upload, deletes a live version or wedges an API (a sample of the fault matrix).

Every call site a Lambda makes in these scenarios is injected once, with the faults rotated across call sites
(``bench.faults.matrix.sample``); the four scenarios together make every call site of all twelve
(``python -m bench.faults --sample`` checks that on the full set). Each scenario's injections are split into shards
that run as separate tests, each in its own moto account, so two workers share the work. The full matrix: ``python -m bench.faults``.
"""

from __future__ import annotations

import pytest

from bench.faults.matrix import Runner, entry, plan_sample
from bench.faults.scenario import Scenario
from bench.faults.world import World

SCENARIOS = tuple(
    Scenario.parse(name)
    for name in ("sagemaker/update/canary", "ecs/update/linear", "sagemaker/first/linear", "ecs/first/all_at_once")
)
# Shards per scenario, by the number of call sites it is first to make (about 52, 33, 1, 1): about six runs per
# shard, because each run slows the next ones down (moto's DynamoDB queries scan the whole table, and every
# reconcile tick visits every API of the account).
SHARDS = {0: 9, 1: 6, 2: 1, 3: 1}


@pytest.mark.parametrize(
    ("index", "shard"),
    [(index, shard) for index, count in SHARDS.items() for shard in range(count)],
    ids=[f"{SCENARIOS[index].name}-{shard + 1}of{count}" for index, count in SHARDS.items() for shard in range(count)],
)
@pytest.mark.usefixtures("quiet")
def test_no_fault_breaks_an_invariant(world: World, index: int, shard: int) -> None:
    runner = Runner(world)
    mine = plan_sample(runner, SCENARIOS, index)
    planned = mine[len(mine) * shard // SHARDS[index] : len(mine) * (shard + 1) // SHARDS[index]]
    results = [entry(result) for result in runner.inject(SCENARIOS[index], planned)]
    broken = [f"{e.call_site} {e.fault}: {v.invariant} {v.detail}" for e in results for v in e.violations] + [
        f"{e.call_site} {e.fault}: never reached" for e in results if not e.reached
    ]
    assert not broken, f"{len(broken)} of {len(planned)} injections broke the rules:\n" + "\n".join(broken)
