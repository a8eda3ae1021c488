#!/bin/bash
# A Slurm job array that splits one grid over 8 tasks, one node core pair each:
#   sbatch docs/jobs/slurm-sweep.sh
# Every task runs `fastlra sweep` on the same grid and the same shared directory; fastlra reads
# SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT itself, so task i runs
# runs i, i+8, i+16, ... Resubmitting (or `scontrol requeue` after a pre-emption) continues
# every unfinished run from its checkpoint; finished runs are skipped.
#SBATCH --job-name=fastlra-sweep
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --signal=TERM@60
#SBATCH --output=sweep-%A_%a.log
set -euo pipefail
GRID=${GRID:-docs/results/grids/grid-t20.json}
OUT=${OUT:-results/grid-t20}
# SIGTERM (pre-emption, time limit) makes every worker write its checkpoint before exiting.
srun ./fastlra sweep --grid "$GRID" --out "$OUT" --workers "$SLURM_CPUS_PER_TASK"
