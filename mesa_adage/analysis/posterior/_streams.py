"""Where a posterior's episodes come from: seeded streams of the POSTERIOR purpose."""

from __future__ import annotations

# derive_seed's ``member`` within mesa_adage.seeds.POSTERIOR, one stream per use.
PRIOR, EPISODES, TRAIN, SAMPLE, CHECK = range(5)
