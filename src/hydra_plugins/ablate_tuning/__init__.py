"""ablate's tuning sweeper as a Hydra plugin (`hydra/sweeper=tune`; see
`ablate.tuning.sweeper`). Hydra 1.3 takes a sweeper only from the `hydra_plugins`
namespace package, so the class lives here; the work is done in `ablate.tuning`."""
