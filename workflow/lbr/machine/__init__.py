"""The machine a job runs on: its device and numeric policy (`device`), GPU slots shared by jobs (`gpuslots`), the
Snakemake script runner that sets both up (`runner`), and progress lines for long work (`progress`)."""
