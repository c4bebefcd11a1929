#!/usr/bin/env python3
"""Runs the reference Leiden implementations on the graph `kindred-community-bench --write DIR`
wrote, for BENCHMARKS.md: python-igraph's `community_leiden` and the `leidenalg` package, both
maximising modularity (resolution 1), with their detection time, modularity and NMI against
the planted groups.

    python3 -m venv bench-data/venv && bench-data/venv/bin/pip install igraph leidenalg
    bench-data/venv/bin/python bench/leiden_reference.py bench-data/planted
"""

import statistics
import sys
import time
from pathlib import Path

import igraph
import leidenalg


def main(folder: Path, runs: int = 5) -> None:
    edges = [tuple(map(int, line.split())) for line in (folder / "edges.txt").read_text().splitlines()]
    truth = [int(line) for line in (folder / "groups.txt").read_text().splitlines()]
    graph = igraph.Graph(n=len(truth), edges=edges, directed=False)
    graph.es["weight"] = [1.0] * graph.ecount()
    graph.simplify(combine_edges="sum")
    print(f"graph: {graph.vcount()} nodes, {len(edges)} ties ({graph.ecount()} after merging parallel ones)")

    def report(name, detect):
        times, partition = [], None
        for _ in range(runs):
            started = time.perf_counter()
            partition = detect()
            times.append(time.perf_counter() - started)
        membership = list(partition.membership)
        modularity = graph.modularity(membership, weights="weight")
        nmi = igraph.compare_communities(membership, truth, method="nmi")
        print(f"{name}: median {statistics.median(times):.3f} s (fastest {min(times):.3f} s), "
              f"{len(set(membership))} communities, modularity {modularity:.5f}, NMI {nmi:.4f}")

    report("igraph community_leiden", lambda: graph.community_leiden(
        objective_function="modularity", weights="weight", resolution=1.0, n_iterations=-1))
    report("leidenalg ModularityVertexPartition", lambda: leidenalg.find_partition(
        graph, leidenalg.ModularityVertexPartition, weights="weight", n_iterations=-1, seed=1))
    print(f"planted groups: modularity {graph.modularity(truth, weights='weight'):.5f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
