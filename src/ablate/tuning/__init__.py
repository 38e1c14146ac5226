"""Equal-budget tuning of every variant (`+experiment=tuned`): the Hydra sweeper
(`sweeper`), the search space (`space`), Tang et al. 2020's expected best validation
score against the number of trials (`expected_max`), its figure (`curves`) and
`tuning.json` (`record`)."""
