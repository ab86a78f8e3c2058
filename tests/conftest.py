"""Self-tests of the plugin, and the kata contract check.

The contract check's kata runs take a while, so they start in worker processes as soon as
collection is done; they run while the other tests do.
"""

from __future__ import annotations

import pytest

from contract_runner import ContractRun, load_contract
from plugin.course import load_course
from contract_runner import ROOT

CONTRACT_RUN = pytest.StashKey[ContractRun]()


def pytest_collection_finish(session: pytest.Session) -> None:
    if not any("contract_results" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    variants = []
    for kata in load_course(ROOT):
        contract = load_contract(kata.folder)
        if contract is not None and (ROOT / "katas" / kata.folder / "app.py").exists():
            variants += contract.variants()
    session.config.stash[CONTRACT_RUN] = ContractRun(variants)


@pytest.fixture(scope="session")
def contract_results(request: pytest.FixtureRequest):
    run = request.config.stash.get(CONTRACT_RUN, None)
    if run is None:
        pytest.fail("the contract workers were not started")
    return run.results()
