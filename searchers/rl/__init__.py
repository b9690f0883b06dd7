"""Model-based reinforcement-learning search (Wu, Chen & Liu, Neurocomputing 409, 2020).

An LSTM agent picks a configuration's hyperparameters one at a time (one episode per
configuration), is trained with PPO-clip on the real evaluations, and between real
evaluations on imagined episodes scored by a learned reward model, for as many rounds as
a KL-controlled horizon allows. Modules, each one concept and none importing Ray:

* :mod:`searchers.rl.steps`: configurations <-> per-step action tensors, in a fixed
  parameter order that respects conditional branches;
* :mod:`searchers.rl.policy`: the LSTM agent (sampling and log-probabilities);
* :mod:`searchers.rl.ppo`: the PPO-clip update and the KL between two policies;
* :mod:`searchers.rl.rewards`: losses -> normalised rewards;
* :mod:`searchers.rl.reward_model`: the learned model of the reward (GP mean or MLP ensemble);
* :mod:`searchers.rl.horizon`: the KL-controlled model-use horizon (a pure rule);
* :mod:`searchers.rl.core`: one suggestion as a function of the trial record;
* :mod:`searchers.rl.threads`: torch's thread cap while the agent computes;
* :mod:`searchers.rl.searcher`: ``RLSearcher``, the thin Ray Tune adapter.
"""
