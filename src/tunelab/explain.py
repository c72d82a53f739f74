"""tunelab's own explanation of every hyperparameter, kept as data.

:data:`EXPLANATIONS` maps each :class:`~tunelab.knobs.Hyperparameters` field to four plain
texts: ``what`` it does, what a value that is ``too_high`` or ``too_low`` looks like in
the learning curves, and ``how_to_step`` it when searching by hand. The allowed range,
typical values and default come from the knob model itself (:func:`tunelab.knobs.knob_info`),
so nothing is declared twice. The CLI (`tunelab explain`) and the web app both read this.

>>> explain_knob("learning_rate")["how_to_step"][:36]
'Multiply or divide by about 3: 0.001'
"""

from __future__ import annotations

from typing import Any

from tunelab.knobs import Hyperparameters, knob_info, unknown_knob

#: Order in which groups of knobs are listed.
GROUPS = ("model", "optimizer", "loss", "schedule", "data", "transfer", "runtime")

FIELDS = ("what", "too_high", "too_low", "how_to_step")

_CHOICE = "Not a number: compare the choices one at a time with everything else fixed."

EXPLANATIONS: dict[str, dict[str, str]] = {
    # --- model ---
    "model": {
        "what": "The network architecture, built from scratch with random weights. Larger "
        "models can learn harder data but need more images and time.",
        "too_high": "Too large a model for the data: training accuracy reaches 100 % while "
        "validation loss turns up after a few epochs (overfitting), and epochs are slow.",
        "too_low": "Too small a model: training and validation loss both stay high and flat "
        "(underfitting); training accuracy never gets near 100 %.",
        "how_to_step": "Step along mlp -> simple-cnn -> cnn -> resnet; mobilenet when speed "
        "matters. " + _CHOICE,
    },
    "activation": {
        "what": "The nonlinearity after every hidden layer. relu is fast and reliable; gelu, "
        "silu and elu are smoother; tanh and sigmoid saturate and train slowly in deep nets.",
        "too_high": "A poor fit shows as a loss that falls slowly or stalls early "
        "(saturating tanh/sigmoid), or as units that die (relu with a high learning rate).",
        "too_low": "The same signs as too_high: this is a choice, not a scale.",
        "how_to_step": "Keep relu unless the loss stalls; then try gelu or leaky-relu. " + _CHOICE,
    },
    "dropout": {
        "what": "The fraction of activations set to zero before the classifier while "
        "training, so the network cannot rely on any single feature. A remedy for overfitting.",
        "too_high": "Training loss stays well above validation loss and both are slow to "
        "fall; accuracy plateaus low (underfitting).",
        "too_low": "Validation loss turns up while training loss keeps falling: the gap "
        "between training and validation accuracy widens (overfitting).",
        "how_to_step": "Steps of 0.25: 0, 0.25, 0.5. Add it when the curves show overfitting.",
    },
    "input_height": {
        "what": "Images are resized to this height before training. Unset: the most common "
        "height in the data.",
        "too_high": "Each epoch is slow and memory use grows with the square of the size; "
        "the curves improve little over a smaller size.",
        "too_low": "Fine detail is lost: both losses stay high (underfitting) because the "
        "classes cannot be told apart at this resolution.",
        "how_to_step": "Halve or double it (32, 64, 128), keeping the images' aspect ratio.",
    },
    "input_width": {
        "what": "Images are resized to this width before training. Unset: the most common "
        "width in the data.",
        "too_high": "Each epoch is slow and memory use grows with the square of the size; "
        "the curves improve little over a smaller size.",
        "too_low": "Fine detail is lost: both losses stay high (underfitting) because the "
        "classes cannot be told apart at this resolution.",
        "how_to_step": "Halve or double it (32, 64, 128), keeping the images' aspect ratio.",
    },
    # --- optimizer ---
    "optimizer": {
        "what": "The rule that turns gradients into weight updates. adam adapts a step size "
        "per weight and works at small learning rates (0.001); sgd and momentum need larger "
        "ones (0.01 to 0.1).",
        "too_high": "An optimizer run at a rate meant for another (adam at sgd's 0.1) makes "
        "the loss jump or become NaN: the run diverges.",
        "too_low": "sgd at adam's learning rate (0.001) makes the loss crawl: it barely "
        "moves from its starting value.",
        "how_to_step": "Try adam first, then momentum (sgd with momentum 0.9) at a 10x higher "
        "learning rate. Re-tune the learning rate after changing it.",
    },
    "learning_rate": {
        "what": "The size of each weight update: the most important knob. Too large and "
        "training jumps around or blows up; too small and it hardly moves.",
        "too_high": "The loss jumps, oscillates or becomes NaN (diverges); or it drops to the "
        "level of guessing and stays flat there.",
        "too_low": "The loss crawls: after many batches it is barely below where it started, "
        "falling in a slow straight line.",
        "how_to_step": "Multiply or divide by about 3: 0.001, 0.003, 0.01, 0.03, 0.1. Divide "
        "by 3 when the loss oscillates or diverges, multiply by 3 when it crawls.",
    },
    "momentum": {
        "what": "How much of the previous update carries into the next (momentum and rmsprop "
        "optimizers). It smooths noisy gradients and speeds up progress along valleys.",
        "too_high": "Close to 1 the updates overshoot: the loss swings up and down in long "
        "waves, or diverges at a rate that was fine before.",
        "too_low": "Near 0 it is plain sgd: a noisier, slower fall of the training loss.",
        "how_to_step": "Use 0.9; try 0.95 or 0.8. Lower the learning rate when you raise it.",
    },
    "nesterov": {
        "what": "Nesterov momentum looks ahead before each update (momentum optimizer only); "
        "it often converges slightly faster and overshoots less.",
        "too_high": "On: rarely hurts; if the loss oscillates, the learning rate is the "
        "knob to turn, not this.",
        "too_low": "Off: plain momentum, marginally slower. The curves barely differ.",
        "how_to_step": "Switch it on once a momentum run works, and compare. " + _CHOICE,
    },
    "beta1": {
        "what": "Decay of Adam's running average of gradients: its momentum.",
        "too_high": "Close to 1 the updates respond slowly and overshoot: slow waves in the "
        "training loss.",
        "too_low": "Near 0 Adam loses its momentum: a noisier training loss.",
        "how_to_step": "Keep 0.9; try 0.8 or 0.95 only after tuning the learning rate.",
    },
    "beta2": {
        "what": "Decay of Adam's running average of squared gradients, which sets each "
        "weight's step size.",
        "too_high": "Rarely a problem at 0.999; very close to 1 the step sizes adapt slowly "
        "after a sudden change in gradients, giving occasional loss spikes.",
        "too_low": "Below about 0.98 step sizes jump with every batch: a spiky, noisy loss.",
        "how_to_step": "Keep 0.999; try 0.99 or 0.98 when the loss spikes late in training.",
    },
    "weight_decay": {
        "what": "A pull of every weight towards zero (L2 penalty; decoupled for adamw). It "
        "limits how closely the model can fit the training images.",
        "too_high": "Both losses stay high and flat (underfitting); training accuracy "
        "cannot climb.",
        "too_low": "At 0 nothing holds the weights back: on small data sets validation loss "
        "turns up while training loss keeps falling (overfitting).",
        "how_to_step": "Steps of 10x: 0, 1e-5, 1e-4, 1e-3 (0.01 to 0.1 for adamw).",
    },
    "gradient_clip": {
        "what": "Caps the gradient's overall length at this value before each update, so "
        "one bad batch cannot throw the weights far away.",
        "too_high": "No effect: the cap is never reached; loss spikes stay.",
        "too_low": "Every update is shortened: the loss falls slowly, as with a lower "
        "learning rate.",
        "how_to_step": "Start at 1.0 when the loss spikes; steps of 3x (0.3, 1, 3).",
    },
    # --- loss ---
    "loss": {
        "what": "What training minimises. cross-entropy is the standard for classification; "
        "focal and label-smoothing are variants; hinge, mse, mae and huber are alternatives "
        "with different sensitivities to outliers.",
        "too_high": "A poorly suited loss (mae, mse) makes the loss fall slowly and plateau "
        "while accuracy lags.",
        "too_low": "Loss values of different losses are not comparable: compare runs by "
        "validation accuracy, not loss.",
        "how_to_step": "Keep cross-entropy; try label-smoothing against overconfidence or "
        "focal for imbalanced classes. " + _CHOICE,
    },
    "label_smoothing": {
        "what": "With the label-smoothing loss, the target gives this much probability to the "
        "wrong classes, so the model is not pushed to be 100 % sure.",
        "too_high": "The loss cannot fall below a high floor and accuracy may suffer; "
        "predicted probabilities are timid.",
        "too_low": "At 0 it is plain cross-entropy: overconfident predictions, and on small "
        "data a validation loss that turns up.",
        "how_to_step": "Steps of about 2x: 0.05, 0.1, 0.2.",
    },
    "focal_gamma": {
        "what": "With the focal loss, how strongly easy, well-classified images are "
        "down-weighted so training concentrates on hard ones.",
        "too_high": "Training focuses on a few hard (or mislabelled) images: the loss is "
        "noisy and accuracy on the easy classes can drop.",
        "too_low": "At 0 it is plain cross-entropy.",
        "how_to_step": "Steps of about 2x: 0.5, 1, 2, 5.",
    },
    # --- schedule ---
    "batch_size": {
        "what": "How many images are averaged into each weight update. Small batches give "
        "noisy but frequent updates; large batches give smooth but fewer updates per epoch.",
        "too_high": "Few updates per epoch: the loss falls slowly per epoch, and memory may "
        "run out; raise the learning rate with it.",
        "too_low": "A very noisy per-batch loss and an oscillating validation curve; epochs "
        "are slow because the hardware is under-used.",
        "how_to_step": "Multiply or divide by 2: 16, 32, 64, 128. When you double it, the "
        "learning rate can often go up too.",
    },
    "epochs": {
        "what": "How many times training goes through every training image.",
        "too_high": "Validation loss bottoms out and then rises while training loss keeps "
        "falling (overfitting), and time is wasted; early stopping guards against it.",
        "too_low": "Validation loss is still falling at the last epoch: the run ended before "
        "the model finished learning.",
        "how_to_step": "As many as fit your time budget (epoch time x epochs); with early "
        "stopping on, set it generously and let patience end the run.",
    },
    "validation_fraction": {
        "what": "The share of labelled images held out (stratified by class) to measure how "
        "well the model does on images it never trained on.",
        "too_high": "Fewer images left to train on: both losses are higher than they need to be.",
        "too_low": "Few validation images: the validation curve is noisy and its best epoch "
        "is a matter of luck.",
        "how_to_step": "0.15 to 0.25; keep at least a few dozen images per class in validation.",
    },
    "use_manifest_split": {
        "what": "When a CSV manifest has a split column (split, partition, or Piximi's "
        "piximi_partition with Training/Validation/Inference), train and validate on the "
        "images it names instead of a random split; Inference/test rows are left out.",
        "too_high": "On: results compare directly with Piximi's, but a small or lopsided "
        "validation side makes a noisy score.",
        "too_low": "Off: a fresh stratified split at validation_fraction, the same for every "
        "data set; the manifest's split is ignored.",
        "how_to_step": "Leave it on to compare with Piximi. " + _CHOICE,
    },
    "schedule": {
        "what": "How the learning rate changes during training: constant, lowered in steps, "
        "along a cosine, one-cycle (up then down), or when validation stops improving.",
        "too_high": "A schedule that keeps the rate high too long leaves the loss noisy at "
        "the end.",
        "too_low": "A schedule that lowers the rate too early makes the loss flatten before "
        "it should.",
        "how_to_step": "Start constant; for longer runs try cosine or one-cycle. " + _CHOICE,
    },
    "schedule_step_epochs": {
        "what": "With the step schedule, the number of epochs between learning-rate drops.",
        "too_high": "The rate drops rarely or never: the same curves as a constant schedule.",
        "too_low": "The rate drops before the model has learned much: the loss flattens "
        "early and high.",
        "how_to_step": "About a third of the epochs.",
    },
    "schedule_gamma": {
        "what": "The factor the learning rate is multiplied by at each drop (step and "
        "reduce-on-plateau schedules).",
        "too_high": "Close to 1 the drops are too small to matter.",
        "too_low": "A drop so large that learning nearly stops after it: the loss goes flat.",
        "how_to_step": "Try 0.1, 0.3 and 0.5.",
    },
    "plateau_patience": {
        "what": "With reduce-on-plateau, how many epochs without a better validation loss "
        "are waited out before the learning rate is lowered.",
        "too_high": "The rate is lowered late: epochs are spent on a plateau.",
        "too_low": "The rate is lowered at every noisy bump: it becomes tiny early and the "
        "loss stops falling.",
        "how_to_step": "2 to 5 epochs; more when the validation curve is noisy.",
    },
    "early_stopping_patience": {
        "what": "Stops training after this many epochs without a better validation loss "
        "(0 turns it off). The remedy for choosing epochs too generously.",
        "too_high": "Training runs on long after the best epoch: overfitting and wasted time.",
        "too_low": "A single noisy epoch ends the run before the model has finished learning.",
        "how_to_step": "3 to 10 epochs; more when the validation curve is noisy.",
    },
    "restore_best_weights": {
        "what": "With early stopping, keep the weights from the epoch with the best "
        "validation loss instead of the last epoch's.",
        "too_high": "On: the saved model is the best one seen; nothing to watch for.",
        "too_low": "Off: the saved model is from the last epoch, already past its best.",
        "how_to_step": "Leave it on. " + _CHOICE,
    },
    "augment": {
        "what": "Random flips, 90-degree rotations, crops or brightness/contrast changes of "
        "each training batch, so the model sees more variety than the images themselves.",
        "too_high": "Transformations that change the meaning of an image (rotating a 6 into "
        "a 9) keep training accuracy low and make validation worse.",
        "too_low": "None on a small data set: validation loss turns up while training loss "
        "keeps falling (overfitting).",
        "how_to_step": "Add one kind at a time: flip, then rot90 for microscopy; crop and "
        "brightness-contrast for photos.",
    },
    # --- transfer ---
    "init_from": {
        "what": "Start from weights trained before (a run in the store, or a .safetensors/"
        ".pth file such as torchvision's ImageNet resnet18 or mobilenet_v2) instead of random "
        "ones, so what was learnt on one data set helps on another. The architecture must "
        "match; the classifier head is new when the classes differ, and a first layer "
        "trained on RGB is adapted to 1 or 2 channels.",
        "too_high": "Weights from very different images (ImageNet photos for fluorescence "
        "crops) can help less than expected: validation accuracy is no better than from "
        "scratch after a few epochs. Compare with a run without it.",
        "too_low": "Unset: training starts from random weights, which on a small data set "
        "shows as a validation loss that turns up early (overfitting) and a low accuracy.",
        "how_to_step": "Try the weights of your best run on similar images, then ImageNet "
        "weights; keep a from-scratch run to compare. " + _CHOICE,
    },
    "freeze_epochs": {
        "what": "With init_from, train only the classifier head for this many epochs (the "
        "layers below keep their weights; batch-norm statistics still adapt), then every "
        "layer. A new head learns first, so its random start does not disturb the "
        "pretrained layers.",
        "too_high": "Training accuracy plateaus during the frozen epochs and only climbs "
        "again once every layer trains: the frozen epochs were wasted.",
        "too_low": "At 0 a new head's large early gradients reach the pretrained layers: "
        "the validation loss jumps up in the first epoch before it falls.",
        "how_to_step": "0, 1, 2, 3: stop raising it when the head's accuracy stops climbing "
        "during the frozen epochs.",
    },
    "backbone_lr_factor": {
        "what": "With init_from, the layers below the classifier head learn at "
        "learning_rate times this factor, so fine-tuning changes the pretrained features "
        "less than the new head.",
        "too_high": "At 1 the pretrained layers move as fast as the head: on a small data "
        "set validation loss turns up early, as if trained from scratch.",
        "too_low": "Close to 0 the pretrained layers hardly change: training accuracy "
        "plateaus below what full fine-tuning reaches.",
        "how_to_step": "Steps of 10x: 1, 0.1, 0.01.",
    },
    # --- runtime ---
    "seed": {
        "what": "Fixes the validation split, the initial weights and the batch order, so a "
        "run can be repeated exactly.",
        "too_high": "Not a scale: any value is as good as any other.",
        "too_low": "Not a scale. Runs that differ only by seed show how much of a difference "
        "between two runs is luck.",
        "how_to_step": "Keep it fixed while comparing knobs; vary it (0, 1, 2) to measure noise.",
    },
    "split_seed": {
        "what": "Fixes the validation split alone, apart from the seed of the weights and "
        "the batch order; unset, the seed fixes both.",
        "too_high": "Not a scale: any value is as good as any other.",
        "too_low": "Not a scale. A different split holds out different images, so "
        "accuracies are only comparable on the same split_seed.",
        "how_to_step": "Leave it unset; a tuned study's best config sets it to the split "
        "its trials shared, so retraining holds out the same images.",
    },
    "precision": {
        "what": "The number format of the forward pass: fp32 everywhere, or bf16/fp16 mixed "
        "precision on a GPU for speed.",
        "too_high": "fp32 on a GPU: correct but slower than it needs to be.",
        "too_low": "fp16 without care can overflow: a loss that becomes NaN (the run "
        "diverges) where fp32 did not.",
        "how_to_step": "Keep auto. " + _CHOICE,
    },
    "device": {
        "what": "Where to train: the CPU, an NVIDIA GPU (cuda) or an Apple GPU (mps). auto "
        "picks the fastest one available.",
        "too_high": "Not a scale: the curves are the same, only the speed differs.",
        "too_low": "Not a scale: the curves are the same, only the speed differs.",
        "how_to_step": "Keep auto. " + _CHOICE,
    },
    "threads": {
        "what": "How many CPU threads PyTorch uses for training on the CPU.",
        "too_high": "More threads than cores slow everything down; the curves are unchanged.",
        "too_low": "Epochs take longer; the curves are unchanged.",
        "how_to_step": "The number of physical cores; fewer when several runs share a machine.",
    },
}


def normalise(name: str) -> str:
    """``learning-rate`` and ``Learning_Rate`` both mean ``learning_rate``."""
    return name.strip().lower().replace("-", "_")


def explain_knob(name: str) -> dict[str, Any]:
    """Everything tunelab says about one knob: knob_info plus the four texts.

    Unknown names raise :class:`~tunelab.errors.TunelabError` with a did-you-mean hint.
    """
    field = normalise(name)
    if field not in Hyperparameters.model_fields:
        raise unknown_knob(name)
    info = knob_info(field)
    # A knob added without texts still explains itself from the knob model (a test
    # makes sure every knob has its texts before release).
    texts = EXPLANATIONS.get(field) or {key: "" for key in FIELDS} | {"what": info["help"]}
    return {**info, **texts}


def explain_all() -> dict[str, list[dict[str, Any]]]:
    """Every knob's explanation, grouped (model, optimizer, loss, schedule, data, runtime)."""
    groups: dict[str, list[dict[str, Any]]] = {group: [] for group in GROUPS}
    for field in Hyperparameters.model_fields:
        entry = explain_knob(field)
        groups.setdefault(str(entry.get("group", "other")), []).append(entry)
    return {group: entries for group, entries in groups.items() if entries}
