"""The workflow's configuration: loading and completing it as a run sees it (`load`), the accessors rules share
(`sections`), the checks the JSON schema cannot express (`checks`), one sentence per schema violation
(`schema_errors`), data roles (`roles`), the user's own models (`declared_models`), and every job's settings
(`settings`)."""
