"""The same Gatys iteration as NeuralStyle's `bench iteration`, in plain PyTorch with autograd: the fair peer.

VGG19's convolutions up to relu5_1 with the weights read from NeuralStyle's exported forward.onnx (so both run
identical numbers), caffe preprocessing, style layers relu1_1..relu5_1 (Gram / (C·H·W), mean squared difference,
weight 100), content relu4_2 (weight 5), TV (weight 1e-3), Adam lr 10, batch 1, noise images. Prints the median
seconds per iteration after warm-up as JSON.

On CUDA the peer gets its best configuration: cuDNN picks each convolution's fastest algorithm by measurement
(cudnn.benchmark) and each timed iteration ends with a synchronize. TF32 is off, as in NeuralStyle's default
FP32; --tf32 allows it for both cuDNN and matrix products, as NeuralStyle's --precision tf32 does.

    /usr/bin/python3 tools/peers/pytorch_peer.py --model out/peer/forward.onnx --size 256 --threads 2
    python3 tools/peers/pytorch_peer.py --model out/peer/forward.onnx --size 1024 --device cuda
"""
import argparse
import json
import statistics
import time

import torch

from onnx_weights import read_initializers

LAYERS = [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4]
STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CONTENT = "relu4_2"
DEEPEST = "relu5_1"


def build(model_path, device):
    weights = {name: torch.frombuffer(bytearray(data), dtype=torch.float32).reshape(dims).to(device)
               for name, (dims, data) in read_initializers(model_path).items()}
    convs = []
    for block, channels in enumerate(LAYERS, start=1):
        for index in range(1, len(channels) + 1):
            name = f"conv{block}_{index}"
            if f"{name}_w" in weights:
                convs.append((block, f"relu{block}_{index}", weights[f"{name}_w"], weights[f"{name}_b"]))
    return convs


def features(x, convs):
    mean = torch.tensor([103.939, 116.779, 123.68], device=x.device).view(1, 3, 1, 1)
    h = x.flip(1) - mean  # RGB → BGR, subtract the caffe means
    taps, block = {}, 1
    for b, relu, w, bias in convs:
        if b != block:
            h = torch.nn.functional.max_pool2d(h, 2, 2)
            block = b
        h = torch.relu(torch.nn.functional.conv2d(h, w, bias, padding=1))
        taps[relu] = h
        if relu == DEEPEST:
            break
    return taps


def gram(f):
    n, c, hh, ww = f.shape
    f = f.view(n, c, hh * ww)
    return f @ f.transpose(1, 2) / (c * hh * ww)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--tf32", action="store_true", help="allow TF32 on CUDA (off by default, as in NeuralStyle)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    convs = build(args.model, device)
    content = torch.rand(1, 3, args.size, args.size, device=device) * 255
    style = torch.rand(1, 3, args.size, args.size, device=device) * 255
    with torch.no_grad():
        targets = features(content, convs)[CONTENT].clone()
        grams = {k: gram(v) for k, v in features(style, convs).items() if k in STYLE}
    x = content.clone().requires_grad_(True)
    adam = torch.optim.Adam([x], lr=10)
    times, first_loss = [], None
    for i in range(args.warmup + args.repeat):
        sync()
        start = time.perf_counter()
        adam.zero_grad()
        taps = features(x, convs)
        loss = 5 * torch.mean((taps[CONTENT] - targets) ** 2)
        for name in STYLE:
            loss = loss + 100 * torch.mean((gram(taps[name]) - grams[name]) ** 2)
        tv = ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum() + ((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2).sum()
        loss = loss + 1e-3 * tv
        first_loss = loss.item() if first_loss is None else first_loss
        loss.backward()
        adam.step()
        sync()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    print(json.dumps({"peer": f"PyTorch {torch.__version__}", "device": torch.cuda.get_device_name() if cuda else "cpu",
                      "tf32": args.tf32 and cuda, "size": args.size, "threads": args.threads,
                      "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
                      "first_loss": first_loss}))


if __name__ == "__main__":
    main()
