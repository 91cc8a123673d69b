"""Benchmark: the PyTorch reference implementation's distillation steps on this CPU.

Reproduces, in plain eager PyTorch (NCHW, float32), the gradient-matching step
of IDC (github.com/snu-mllab/Efficient-Dataset-Condensation, which UDD builds
on) at the settings of the `step-speed` experiment: FashionMNIST shape (1 x 28 x 28,
10 classes), ConvNet-3 width 128 with instance norm, real batch 64, one stored
synthetic image per class expanded to 9 training images, second-order
gradient (`torch.autograd.grad(..., create_graph=True)`), l1 matching of the
convolution kernels' gradients. Written from IDC's structure, not copied.

Times, each the median of `--repeats` calls after `--warmup` calls (wall time
and process CPU time, all threads summed):

- `matching_step`: one class: augment (real batch + synthetic images, shared
  parameters), the real batch's gradient, the synthetic images' gradient
  (graph kept), the l1 matching loss and its backward to the stored images;
- `update_images`: the matching step of all 10 classes, each followed by an
  SGD step (momentum 0.5) on the stored images, as IDC's loop does;
- `update_network`: one pass over 500 random real images in batches of 64
  (SGD lr 0.01, momentum 0.9, weight decay 5e-4), per-image augmentation;
- `inner_step`: `update_images` then `update_network`.

The data is seeded normal noise of FashionMNIST's shape (timing only). The
matching step's FLOPs are counted with `torch.utils.flop_counter.FlopCounterMode`
(convolutions forward and backward, matrix products; 2 FLOPs per multiply-add).

On a loaded machine, PyTorch's OpenMP threads wait at barriers whenever one
of them loses its core; a step then costs several times its quiet-machine
time (seen here: the first layer's weight gradient 1 s instead of 70 ms with 2
threads beside two busy processes). Time on a quiet machine, or compare with
`--threads 1`.

Needs only PyTorch and NumPy (no TensorFlow). Writes
`speed-reference-pytorch.json` and `.md` into `--out` (default
`results/reference-pytorch/`; `python -m benchmarks run reference-pytorch` runs
it in a subprocess and writes its own result there).

Usage:
    /work/torch-venv/bin/python benchmarks/reference_pytorch.py
    /work/torch-venv/bin/python benchmarks/reference_pytorch.py --threads 2
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys

import numpy as np
import torch
import torch.nn.functional as F
from results import cpu_model
from timing import timed as measure
from torch import nn

RESULTS = pathlib.Path(__file__).parent / "results" / "reference-pytorch"
NAME = "speed-reference-pytorch"
STEPS = ("matching_step", "update_images", "update_network", "inner_step")

NUM_CLASSES = 10
IMAGE_SIZE = 28
WIDTH = 128
DEPTH = 3
REAL_BATCH = 64
REAL_PER_CLASS = 640
NET_IMAGES = 500
NET_BATCH = 64
NET_LR, NET_MOMENTUM, NET_WEIGHT_DECAY = 0.01, 0.9, 5e-4
IMAGE_LR, IMAGE_MOMENTUM = 0.005, 0.5
FASHION_MEAN, FASHION_STD = 0.2861, 0.3530
SHIFT = 4  # crop/translate range, pixels: 28 * 0.125 rounded, as DSA's crop.
CUTOUT = 14  # cutout side, pixels: half the image, as DSA's cutout.


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=0, help="Torch threads (0: all cores)."
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    return parser.parse_args(argv)


class ConvNet(nn.Module):
    """IDC's ConvNet: `depth` x [conv 3x3, instance norm, ReLU, 2x2 average pool].

    A 1-channel 28 px input gets padding 3 in the first convolution (28 -> 32
    pixels), so the features are 128 x 4 x 4 before the linear classifier.
    Instance norm is `GroupNorm(width, width)` with an affine transform.
    """

    def __init__(self, channels=1, width=WIDTH, depth=DEPTH, classes=NUM_CLASSES):
        super().__init__()
        blocks = []
        size = 32 if channels == 1 else IMAGE_SIZE
        for index in range(depth):
            padding = 3 if channels == 1 and index == 0 else 1
            blocks += [
                nn.Conv2d(channels if index == 0 else width, width, 3, padding=padding),
                nn.GroupNorm(width, width, affine=True),
                nn.ReLU(),
                nn.AvgPool2d(2),
            ]
            size //= 2
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(width * size * size, classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def normalize(x):
    return (x - FASHION_MEAN) / FASHION_STD


def shared_augment(x, rng):
    """DSA-style `color_crop_cutout` with one set of parameters for the batch.

    Brightness (+U(-0.5, 0.5)), saturation (x U(0, 2) around the channel mean,
    a no-op for one channel but computed), contrast (x U(0.5, 1.5) around the
    image mean), a translation by up to `SHIFT` pixels with zero fill, and a
    `CUTOUT` square zeroed at a random centre.

    Args:
        x: (N, C, H, W) float tensor, normalized.
        rng: `np.random.Generator` drawing the shared parameters.

    Returns:
        (N, C, H, W) tensor, differentiable with respect to `x`.
    """
    x = x + (rng.uniform() - 0.5)
    channel_mean = x.mean(dim=1, keepdim=True)
    x = (x - channel_mean) * (2.0 * rng.uniform()) + channel_mean
    image_mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - image_mean) * (rng.uniform() + 0.5) + image_mean
    height, width = x.shape[-2:]
    dy, dx = rng.integers(-SHIFT, SHIFT + 1, size=2)
    padded = F.pad(x, (SHIFT, SHIFT, SHIFT, SHIFT))
    x = padded[..., SHIFT + dy : SHIFT + dy + height, SHIFT + dx : SHIFT + dx + width]
    cy, cx = rng.integers(0, height), rng.integers(0, width)
    mask = torch.ones(height, width, dtype=x.dtype)
    top, left = max(0, cy - CUTOUT // 2), max(0, cx - CUTOUT // 2)
    mask[top : cy + CUTOUT // 2, left : cx + CUTOUT // 2] = 0
    return x * mask


def per_image_augment(x, generator):
    """DSA-style `color_crop` with parameters drawn per image (network update).

    Args:
        x: (N, C, H, W) float tensor, normalized.
        generator: `torch.Generator` drawing the parameters.

    Returns:
        (N, C, H, W) tensor.
    """
    n, channels, height, width = x.shape

    def uniform():
        return torch.rand(n, 1, 1, 1, generator=generator)

    x = x + (uniform() - 0.5)
    channel_mean = x.mean(dim=1, keepdim=True)
    x = (x - channel_mean) * (2.0 * uniform()) + channel_mean
    image_mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - image_mean) * (uniform() + 0.5) + image_mean
    shifts = torch.randint(-SHIFT, SHIFT + 1, (2, n), generator=generator) + SHIFT
    rows = torch.arange(height)[None, :] + shifts[0][:, None]
    cols = torch.arange(width)[None, :] + shifts[1][:, None]
    padded = F.pad(x, (SHIFT, SHIFT, SHIFT, SHIFT)).permute(0, 2, 3, 1)
    batch = torch.arange(n)[:, None, None]
    return padded[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def crop_boxes(size=IMAGE_SIZE):
    """The 8 crop boxes (top, left, side) of a synthetic image, pixels.

    The 4 corners at 1/2 of the side, then the 4 corners at 2/3 of the side.
    """
    boxes = []
    for side in (size // 2, round(2 * size / 3)):
        for top in (0, size - side):
            for left in (0, size - side):
                boxes.append((top, left, side))
    return boxes


def expand_synthetic(image, boxes):
    """One stored image -> the original plus its crops resized to full size.

    Crops of the same side are resized together with one bilinear
    `F.interpolate` (align_corners=False), as IDC's decoder does.

    Args:
        image: (1, C, H, W) tensor (requires grad).
        boxes: list of (top, left, side).

    Returns:
        (1 + len(boxes), C, H, W) tensor.
    """
    size = image.shape[-2:]
    parts = [image]
    for side in sorted({box[2] for box in boxes}):
        crops = [
            image[..., top : top + s, left : left + s]
            for top, left, s in boxes
            if s == side
        ]
        parts.append(
            F.interpolate(
                torch.cat(crops), size=size, mode="bilinear", align_corners=False
            )
        )
    return torch.cat(parts)


class ReferenceDistillation:
    """IDC's gradient-matching loop for IPC 1 on noise of FashionMNIST's shape."""

    def __init__(self, seed):
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator().manual_seed(seed + 1)
        self.model = ConvNet()
        self.model.train()
        self.net_optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=NET_LR,
            momentum=NET_MOMENTUM,
            weight_decay=NET_WEIGHT_DECAY,
        )
        shape = (NUM_CLASSES, REAL_PER_CLASS, 1, IMAGE_SIZE, IMAGE_SIZE)
        self.real = torch.randn(shape).mul_(0.25).add_(0.5).clamp_(0, 1)
        self.synthetic = torch.randn(NUM_CLASSES, 1, IMAGE_SIZE, IMAGE_SIZE)
        self.synthetic = self.synthetic.div_(4).add_(0.5).clamp_(0, 1)
        self.synthetic.requires_grad_(True)
        self.image_optimizer = torch.optim.SGD(
            [self.synthetic], lr=IMAGE_LR, momentum=IMAGE_MOMENTUM
        )
        self.boxes = crop_boxes()
        self.training_images = 1 + len(self.boxes)

    def matching_loss(self, class_id):
        """The l1 gradient-matching loss of one class (graph kept to the image)."""
        indices = torch.from_numpy(self.rng.choice(REAL_PER_CLASS, REAL_BATCH))
        real = self.real[class_id][indices]
        synthetic = expand_synthetic(
            self.synthetic[class_id : class_id + 1], self.boxes
        )
        both = shared_augment(normalize(torch.cat([real, synthetic])), self.rng)
        real, synthetic = both[:REAL_BATCH], both[REAL_BATCH:]
        parameters = list(self.model.parameters())

        real_loss = F.cross_entropy(
            self.model(real), torch.full((REAL_BATCH,), class_id)
        )
        real_grads = [g.detach() for g in torch.autograd.grad(real_loss, parameters)]
        synthetic_loss = F.cross_entropy(
            self.model(synthetic), torch.full((len(synthetic),), class_id)
        )
        synthetic_grads = torch.autograd.grad(
            synthetic_loss, parameters, create_graph=True
        )
        # As IDC (bias=False, fc=False): only the 4-D convolution kernels.
        return sum(
            (g_real - g_synthetic).abs().sum()
            for g_real, g_synthetic in zip(real_grads, synthetic_grads, strict=True)
            if g_real.dim() == 4
        )

    def matching_step(self, class_id=0):
        """One class's matching loss and its backward to the stored images."""
        self.image_optimizer.zero_grad()
        loss = self.matching_loss(class_id)
        loss.backward()
        return loss.item()

    def update_images(self):
        """Every class's matching step, each followed by an image SGD step."""
        losses = []
        for class_id in range(NUM_CLASSES):
            losses.append(self.matching_step(class_id))
            self.image_optimizer.step()
        return losses

    def update_network(self):
        """One pass of the network over `NET_IMAGES` random real images."""
        flat = self.real.flatten(0, 1)
        labels = torch.arange(NUM_CLASSES).repeat_interleave(REAL_PER_CLASS)
        picks = torch.randperm(len(flat), generator=self.generator)[:NET_IMAGES]
        losses = []
        for start in range(0, NET_IMAGES, NET_BATCH):
            batch = picks[start : start + NET_BATCH]
            with torch.no_grad():
                images = per_image_augment(normalize(flat[batch]), self.generator)
            loss = F.cross_entropy(self.model(images), labels[batch])
            self.net_optimizer.zero_grad()
            loss.backward()
            self.net_optimizer.step()
            losses.append(loss.item())
        return losses

    def inner_step(self):
        return self.update_images(), self.update_network()


def matching_flops(distillation):
    """FLOPs of one matching step, total and per aten op (FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        distillation.matching_step(0)
    by_op = {}
    for ops in counter.get_flop_counts().values():
        for op, value in ops.items():
            name = str(op).split(".")[-1] if "." in str(op) else str(op)
            by_op[name] = max(by_op.get(name, 0), int(value))
    return {**by_op, "total": int(counter.get_total_flops())}


def environment():
    return {
        "machine": {
            "platform": platform.platform(),
            "processor": cpu_model(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch_interop_threads": torch.get_num_interop_threads(),
            "mkldnn": torch.backends.mkldnn.is_available(),
        },
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
    }


def settings():
    return {
        "dataset_shape": "fashion_mnist (1 x 28 x 28, 10 classes), seeded noise",
        "model": f"ConvNet-{DEPTH} width {WIDTH}, instancenorm, avgpool, 28->32",
        "ipc": 1,
        "real_batch": REAL_BATCH,
        "synthetic_training_images_per_class": 1 + len(crop_boxes()),
        "crop_boxes": [list(box) for box in crop_boxes()],
        "matched": "conv kernels (4-D grads); grads taken of all parameters",
        "metric": "l1",
        "matching_augmentation": "color_crop_cutout, shared parameters",
        "net_augmentation": "color_crop, per image",
        "net_images": NET_IMAGES,
        "net_batch": NET_BATCH,
        "net_optimizer": f"SGD lr {NET_LR} momentum {NET_MOMENTUM} wd "
        f"{NET_WEIGHT_DECAY}",
        "image_optimizer": f"SGD lr {IMAGE_LR} momentum {IMAGE_MOMENTUM}, "
        "stepped after every class",
        "layout": "NCHW float32, eager",
    }


def markdown(summary):
    def ms(seconds):
        return f"{1000 * seconds:.1f}"

    flops = summary["matching_flops"]
    matching = summary["timings"]["matching_step"]
    by_op = ", ".join(
        f"{op} {value / 1e9:.2f}" for op, value in flops.items() if op != "total"
    )
    machine, versions = summary["machine"], summary["versions"]
    lines = [
        "# Speed of the reference PyTorch implementation (IDC's matching step)",
        "",
        f"Run {summary['finished']}; `{summary['command']}`. Median of "
        f"{summary['repeats']} calls after {summary['warmup']} warm-up calls; "
        "CPU is process CPU time, all threads summed; load is the 1-minute "
        "load average while timing.",
        "",
        "| step | median (ms) | min (ms) | CPU median (ms) | first call (ms) | load |",
        "|---|---|---|---|---|---|",
    ]
    for name in STEPS:
        timing = summary["timings"][name]
        lines.append(
            f"| {name} | {ms(timing['median'])} | {ms(timing['min'])} | "
            f"{ms(timing['cpu_median'])} | {ms(timing['first'])} | "
            f"{timing['load_average']:.1f} |"
        )
    lines += [
        "",
        f"Matching step (one class): {flops['total'] / 1e9:.2f} GFLOP "
        f"(FlopCounterMode: {by_op} GFLOP); "
        f"{flops['total'] / matching['median'] / 1e9:.1f} GFLOP/s wall, "
        f"{flops['total'] / matching['cpu_median'] / 1e9:.1f} GFLOP per CPU second.",
        "",
        "Settings: "
        + ", ".join(
            f"{key} {value}"
            for key, value in summary["settings"].items()
            if key != "crop_boxes"
        )
        + f"; seed {summary['seed']}.",
        f"Machine: {machine['platform']}, {machine['processor']}, "
        f"{machine['cpu_count']} CPUs, torch threads {machine['torch_threads']} "
        f"(interop {machine['torch_interop_threads']}), mkldnn "
        f"{machine['mkldnn']}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
    ]
    return "\n".join(lines)


def write_atomic(path, text):
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads or os.cpu_count())
    distillation = ReferenceDistillation(args.seed)
    timings = {
        "matching_step": measure(distillation.matching_step, args.repeats, args.warmup),
        "update_images": measure(distillation.update_images, args.repeats, args.warmup),
        "update_network": measure(
            distillation.update_network, args.repeats, args.warmup
        ),
        "inner_step": measure(distillation.inner_step, args.repeats, args.warmup),
    }
    summary = {
        "name": NAME,
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/reference_pytorch.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "repeats": args.repeats,
        "warmup": args.warmup,
        "seed": args.seed,
        "timings": timings,
        "matching_flops": matching_flops(distillation),
        "settings": settings(),
        **environment(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / f"{NAME}.json", json.dumps(summary, indent=2) + "\n")
    write_atomic(args.out / f"{NAME}.md", markdown(summary))
    for name in STEPS:
        timing = timings[name]
        print(
            f"{name}: median {1000 * timing['median']:.1f} ms, "
            f"CPU {1000 * timing['cpu_median']:.1f} ms"
        )
    print(f"matching step: {summary['matching_flops']['total'] / 1e9:.2f} GFLOP")
    print(f"wrote {args.out / NAME}.json and .md")


if __name__ == "__main__":
    main()
