#!/usr/bin/env python3
"""The reference of AerieDiffusion: the same Stable Diffusion pipeline in numpy + ONNX Runtime Python.

    scripts/imagine_reference.py generate MODEL_DIR --prompt "..." [--seed 0 --steps 4 ...] --out image.png
    scripts/imagine_reference.py fixtures MODEL_DIR FIXTURE_DIR     # what `make fixtures` runs
    scripts/imagine_reference.py bench-steps MODEL_DIR --steps 5    # per-step seconds as JSON

It follows diffusers' OnnxStableDiffusionPipeline: CLIP tokenizer (open_clip's SimpleTokenizer rules: HTML
unescape, whitespace clean, lower case, CLIP's regex; ftfy is not applied), text encoder on int32 ids,
initial latents `np.random.RandomState(seed).randn(1, 4, h/8, w/8)` as float32 times init_noise_sigma,
classifier-free guidance with the negative prompt (batch 2, unconditional first) when guidance > 1,
the scheduler step, `1 / 0.18215` scaling, VAE decode, `clip(x / 2 + 0.5, 0, 1)`, `round(x * 255)`.

Schedulers (DDIM eta 0, PNDM with skip_prk_steps, Euler, Euler ancestral) follow diffusers' definitions;
coefficients are computed in float64 and applied to float32 arrays. Euler ancestral's noise continues the
request's RandomState after the initial latents: `randn(*latents.shape)` at every step.
"""
import argparse
import html
import json
import os
import sys
import time
import zlib
import struct

import numpy as np

from clip_bytes import bytes_to_unicode  # scripts/ is on sys.path: the script's own folder

# --------------------------------------------------------------------------------------------- tokenizer


class ClipTokenizer:
    """open_clip's SimpleTokenizer over a diffusers tokenizer directory (vocab.json + merges.txt)."""

    def __init__(self, directory, max_length=77):
        import regex

        with open(os.path.join(directory, "vocab.json"), encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(os.path.join(directory, "merges.txt"), encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n") if line and not line.startswith("#version")]
        self.ranks = {tuple(line.split()): i for i, line in reversed(list(enumerate(lines)))}
        pad = "<|endoftext|>"
        config = os.path.join(directory, "tokenizer_config.json")
        if os.path.exists(config):
            with open(config) as f:
                value = json.load(f).get("pad_token", pad)
                pad = value["content"] if isinstance(value, dict) else value
        self.byte_encoder = bytes_to_unicode()
        self.pattern = regex.compile(
            r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", regex.IGNORECASE
        )
        self.start = self.encoder["<|startoftext|>"]
        self.end = self.encoder["<|endoftext|>"]
        self.pad = self.encoder[pad]
        self.max_length = max_length

    def bpe(self, token):
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            bigram = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            merged = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        return word

    @staticmethod
    def clean(text):
        text = html.unescape(html.unescape(text)).strip()
        import re

        return re.sub(r"\s+", " ", text).strip().lower()

    def bpe_ids(self, text):
        ids = []
        for token in self.pattern.findall(self.clean(text)):
            if token in ("<|startoftext|>", "<|endoftext|>"):
                ids.append(self.encoder[token])
                continue
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[piece] for piece in self.bpe(token))
        return ids

    def encode(self, text):
        ids = [self.start] + self.bpe_ids(text)[: self.max_length - 2] + [self.end]
        return ids + [self.pad] * (self.max_length - len(ids))


# -------------------------------------------------------------------------------------------- schedulers


class Scheduler:
    def __init__(self, kind, config, steps):
        self.kind = kind
        self.config = config
        self.steps = steps
        T = config.get("num_train_timesteps", 1000)
        self.T = T
        start, end = config.get("beta_start", 0.00085), config.get("beta_end", 0.012)
        if config.get("beta_schedule", "scaled_linear") == "linear":
            betas = np.linspace(start, end, T, dtype=np.float64)
        else:
            betas = np.linspace(start**0.5, end**0.5, T, dtype=np.float64) ** 2
        self.alphas_cumprod = np.cumprod(1.0 - betas)
        self.final_alpha = 1.0 if config.get("set_alpha_to_one", False) else float(self.alphas_cumprod[0])
        self.prediction = config.get("prediction_type", "epsilon")
        spacing = config.get("timestep_spacing", "leading")
        offset = config.get("steps_offset", 0)
        self.sigmas = None
        self.init_noise_sigma = 1.0
        if kind == "ddim":
            if spacing == "linspace":
                ts = np.linspace(0, T - 1, steps).round()[::-1]
            elif spacing == "trailing":
                ts = np.round(np.arange(T, 0, -T / steps)) - 1
            else:
                ts = (np.arange(0, steps) * (T // steps)).round()[::-1] + offset
            self.timesteps = [float(t) for t in ts]
        elif kind == "pndm":
            if not config.get("skip_prk_steps", False):
                raise ValueError("PNDM without skip_prk_steps is not supported")
            if spacing == "linspace":
                base = np.linspace(0, T - 1, steps).round()
            elif spacing == "trailing":
                base = np.round(np.arange(T, 0, -T / steps))[::-1] - 1
            else:
                base = (np.arange(0, steps) * (T // steps)).round() + offset
            plms = np.concatenate([base[:-1], base[-2:-1], base[-1:]])[::-1]
            self.timesteps = [float(t) for t in plms]
            self.ets = []
            self.counter = 0
            self.cur_sample = None
        else:
            if spacing == "linspace":
                ts = np.linspace(0, T - 1, steps, dtype=np.float64)[::-1]
            elif spacing == "trailing":
                ts = np.arange(T, 0, -T / steps).round() - 1
            else:
                ts = (np.arange(0, steps) * (T // steps)).round()[::-1].astype(np.float64) + offset
            self.timesteps = [float(t) for t in ts]
            all_sigmas = np.sqrt((1 - self.alphas_cumprod) / self.alphas_cumprod)
            sigmas = np.interp(np.array(self.timesteps), np.arange(T), all_sigmas)
            self.sigmas = [float(s) for s in sigmas] + [0.0]
            top = max(self.sigmas)
            self.init_noise_sigma = top if spacing in ("linspace", "trailing") else (top**2 + 1) ** 0.5

    def alpha(self, t):
        return float(self.alphas_cumprod[t]) if t >= 0 else self.final_alpha

    def scale_model_input(self, sample, index):
        if self.kind in ("euler", "euler_ancestral"):
            sigma = self.sigmas[index]
            return sample / np.float32((sigma**2 + 1) ** 0.5)
        return sample

    def step(self, output, index, sample, rng):
        f = np.float32
        if self.kind == "ddim":
            t = int(self.timesteps[index])
            prev = t - self.T // self.steps
            a, a_prev = self.alpha(t), self.alpha(prev)
            b = 1 - a
            if self.prediction == "v_prediction":
                original = f(a**0.5) * sample - f(b**0.5) * output
                eps = f(a**0.5) * output + f(b**0.5) * sample
            else:
                original = (sample - f(b**0.5) * output) / f(a**0.5)
                eps = output
            return f(a_prev**0.5) * original + f((1 - a_prev) ** 0.5) * eps
        if self.kind == "pndm":
            ratio = self.T // self.steps
            t = int(self.timesteps[index])
            prev = t - ratio
            if self.counter != 1:
                self.ets = self.ets[-3:]
                self.ets.append(output)
            else:
                prev = t
                t = t + ratio
            if len(self.ets) == 1 and self.counter == 0:
                combined = output
                self.cur_sample = sample
            elif len(self.ets) == 1 and self.counter == 1:
                combined = (output + self.ets[-1]) / f(2)
                sample = self.cur_sample
                self.cur_sample = None
            elif len(self.ets) == 2:
                combined = (f(3) * self.ets[-1] - self.ets[-2]) / f(2)
            elif len(self.ets) == 3:
                combined = (f(23) * self.ets[-1] - f(16) * self.ets[-2] + f(5) * self.ets[-3]) / f(12)
            else:
                e = self.ets
                combined = f(1 / 24) * (f(55) * e[-1] - f(59) * e[-2] + f(37) * e[-3] - f(9) * e[-4])
            self.counter += 1
            a, a_prev = self.alpha(t), self.alpha(prev)
            b, b_prev = 1 - a, 1 - a_prev
            if self.prediction == "v_prediction":
                combined = f(a**0.5) * combined + f(b**0.5) * sample
            coefficient = f((a_prev / a) ** 0.5)
            denominator = f(a * b_prev**0.5 + (a * b * a_prev) ** 0.5)
            return coefficient * sample - f(a_prev - a) * combined / denominator
        sigma = self.sigmas[index]
        nxt = self.sigmas[index + 1]
        if self.prediction == "v_prediction":
            original = output * f(-sigma / (sigma**2 + 1) ** 0.5) + sample / f(sigma**2 + 1)
        else:
            original = sample - f(sigma) * output
        if self.kind == "euler":
            derivative = (sample - original) / f(sigma)
            return sample + derivative * f(nxt - sigma)
        up = (nxt**2 * (sigma**2 - nxt**2) / sigma**2) ** 0.5
        down = (nxt**2 - up**2) ** 0.5
        derivative = (sample - original) / f(sigma)
        moved = sample + derivative * f(down - sigma)
        noise = rng.randn(*sample.shape).astype(np.float32)
        return moved + noise * f(up)


SCHEDULER_CLASSES = {"DDIMScheduler": "ddim", "PNDMScheduler": "pndm", "EulerDiscreteScheduler": "euler",
                     "EulerAncestralDiscreteScheduler": "euler_ancestral"}

# ---------------------------------------------------------------------------------------------- pipeline


def png_bytes(rgb):
    """8-bit RGB PNG: filter 0 on every row, zlib level 6 (what PNGEncoder.swift writes)."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[row].tobytes() for row in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


class Pipeline:
    def __init__(self, directory, threads=1):
        import onnxruntime as ort

        self.directory = directory
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1

        def session(name):
            return ort.InferenceSession(os.path.join(directory, name, "model.onnx"), options, providers=["CPUExecutionProvider"])

        self.text_encoder = session("text_encoder")
        self.unet = session("unet")
        self.vae_decoder = session("vae_decoder")
        self.tokenizer = ClipTokenizer(os.path.join(directory, "tokenizer"))
        with open(os.path.join(directory, "scheduler", "scheduler_config.json")) as f:
            self.scheduler_config = json.load(f)
        self.default_scheduler = SCHEDULER_CLASSES.get(self.scheduler_config.get("_class_name"), "pndm")
        types = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(float16)": np.float16}
        self.timestep_dtype = types[next(i.type for i in self.unet.get_inputs() if i.name == "timestep")]
        self.ids_dtype = types[next(i.type for i in self.text_encoder.get_inputs() if i.name == "input_ids")]

    def encode(self, text):
        ids = np.array([self.tokenizer.encode(text)], dtype=self.ids_dtype)
        return self.text_encoder.run(None, {"input_ids": ids})[0]

    def generate(self, prompt, negative_prompt="", width=64, height=64, steps=4, guidance=7.5, seed=0, scheduler=None,
                 step_times=None):
        scheduler = Scheduler(scheduler or self.default_scheduler, self.scheduler_config, steps)
        guided = guidance > 1
        embeddings = self.encode(prompt)
        if guided:
            embeddings = np.concatenate([self.encode(negative_prompt), embeddings])
        rng = np.random.RandomState(seed)
        latents = rng.randn(1, 4, height // 8, width // 8).astype(np.float32) * np.float32(scheduler.init_noise_sigma)
        for index, t in enumerate(scheduler.timesteps):
            started = time.perf_counter()
            model_input = np.concatenate([latents] * 2) if guided else latents
            model_input = scheduler.scale_model_input(model_input, index)
            timestep = np.array([t], dtype=self.timestep_dtype)
            noise = self.unet.run(["out_sample"], {"sample": model_input, "timestep": timestep, "encoder_hidden_states": embeddings})[0]
            if guided:
                uncond, text = noise[:1], noise[1:]
                noise = uncond + np.float32(guidance) * (text - uncond)
            latents = scheduler.step(noise, index, latents, rng)
            if step_times is not None:
                step_times.append(time.perf_counter() - started)
        image = self.vae_decoder.run(["sample"], {"latent_sample": np.float32(1 / 0.18215) * latents})[0]
        image = np.clip(image / np.float32(2) + np.float32(0.5), 0, 1).transpose(0, 2, 3, 1)[0]
        return (image * np.float32(255)).round().astype(np.uint8)


# ---------------------------------------------------------------------------------------------- fixtures

PROMPTS = [
    "a photograph of an astronaut riding a horse",
    "A cat sitting on a windowsill, golden hour, 35mm",
    "an oil painting of a lighthouse in a storm",
    "cyberpunk city at night, neon lights, rain, 4k",
    "a red car", "a blue car", "a dog chasing a cat", "a cat chasing a dog", "no cat", "a cat",
    "portrait of a woman with freckles, soft light, 85mm f/1.4",
    "it's a beautiful day, isn't it? we'll see; they're here & you've won",
    "I'M SHOUTING IN ALL CAPS!!!", "mixed CaSe WoRdS", "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nand  double  spaces", "numbers 1234567890 and 3.14159 and 1,000,000",
    "emoji 🐱🚀 and symbols ©®™ ±×÷", "café crème brûlée naïve façade", "日本語のテキスト と ひらがな",
    "中文提示词 一只猫", "русский текст с котом", "ελληνικά γράμματα", "עברית ועוד", "العربية والقط",
    "html &amp; entities &lt;b&gt; &quot;quoted&quot; &#39;single&#39; &#x263A;", "double escaped &amp;amp; ampersand",
    "<|startoftext|> literal special tokens <|endoftext|>", "punctuation... --- ??? !!! ;;; ::: ((( )))",
    "hyphen-ated words and under_scores and slash/separated", "a-b-c 1-2-3 x.y.z",
    "masterpiece, best quality, ultra-detailed, (extremely detailed CG unity 8k wallpaper)",
    "[[brackets]] {{braces}} <<angles>> ''quotes'' \"double\"", "apostrophes: rock'n'roll o'clock '90s 'tis",
    "can't won't shouldn't y'all ma'am", "'s 't 're 've 'm 'll 'd", "e-mail user@example.com http://example.com/path?q=1",
    "#hashtag @mention $100 50% ^caret* ~tilde `backtick`", "superscript² subscript₂ fractions ½ ¾ roman Ⅻ",
    "full-width ＡＢＣ １２３", "ligatures ﬁ ﬂ and ß and İstanbul", "zero\u200bwidth\u200bspace", "non\u00a0breaking\u00a0space",
    "", " ", "a", "A", "0", "!", "'", "''", "a'", "'a",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    " ".join(["word"] * 100),
    " ".join(f"token{i}" for i in range(60)),
    "a very long prompt " * 20,
]
SUBJECTS = ["a cat", "a dog", "an astronaut", "a castle", "a robot", "a dragon", "a bowl of ramen", "a lighthouse", "a forest",
            "a city skyline", "an old man", "a little girl", "a sports car", "a sailboat", "a mountain lake", "a teapot"]
STYLES = ["watercolor", "oil painting", "pixel art", "photorealistic", "studio ghibli style", "low poly 3D render",
          "charcoal sketch", "ukiyo-e woodblock print", "synthwave", "art nouveau"]
EXTRAS = ["at sunset", "in the rain", "on the moon", "under water", "in a snowy field", "with dramatic lighting",
          "highly detailed, 8k", "trending on artstation", "wide angle", "macro shot"]


def prompts():
    rng = np.random.RandomState(2024)
    out = list(PROMPTS)
    while len(out) < 210:
        out.append(f"{SUBJECTS[rng.randint(len(SUBJECTS))]}, {STYLES[rng.randint(len(STYLES))]}, {EXTRAS[rng.randint(len(EXTRAS))]}")
    return out


SCHEDULER_CASES = [
    ("sd15", {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
              "steps_offset": 1, "set_alpha_to_one": False, "skip_prk_steps": True, "prediction_type": "epsilon",
              "timestep_spacing": "leading"}),
    ("trailing_v", {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
                    "steps_offset": 1, "set_alpha_to_one": True, "skip_prk_steps": True, "prediction_type": "v_prediction",
                    "timestep_spacing": "trailing"}),
    ("linspace_linear", {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear",
                         "steps_offset": 0, "set_alpha_to_one": False, "skip_prk_steps": True, "prediction_type": "epsilon",
                         "timestep_spacing": "linspace"}),
]


def scheduler_fixture(kind, config, steps, seed=7, size=32):
    """Runs a scheduler on fixed inputs: latents from RandomState(seed), model outputs from RandomState(100 + i)."""
    scheduler = Scheduler(kind, config, steps)
    rng = np.random.RandomState(seed)
    sample = rng.randn(size).astype(np.float32) * np.float32(scheduler.init_noise_sigma)
    samples = []
    scaled = []
    for index in range(len(scheduler.timesteps)):
        model_input = scheduler.scale_model_input(sample, index)
        scaled.append([float(x) for x in model_input[:4]])
        output = np.random.RandomState(100 + index).randn(size).astype(np.float32)
        sample = scheduler.step(output, index, sample, rng)
        samples.append([float(x) for x in sample])
    return {
        "kind": kind, "steps": steps, "seed": seed, "size": size, "timesteps": scheduler.timesteps,
        "sigmas": scheduler.sigmas or [], "init_noise_sigma": scheduler.init_noise_sigma, "scaled_inputs": scaled, "samples": samples,
    }


def write_fixtures(model_dir, out):
    os.makedirs(out, exist_ok=True)
    tokenizer = ClipTokenizer(os.path.join(model_dir, "tokenizer"))
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump([{"text": p, "ids": tokenizer.encode(p)} for p in prompts()], f, ensure_ascii=False)

    randoms = []
    for seed in [0, 1, 42, 123456789, 4294967295]:
        values = np.random.RandomState(seed).randn(2001)
        randoms.append({"seed": seed, "first": [float(v) for v in values[:10]], "at_1995": [float(v) for v in values[1995:]]})
    uniform = np.random.RandomState(5).random_sample(4)
    with open(os.path.join(out, "random.json"), "w") as f:
        json.dump({"randn": randoms, "random_sample_seed5": [float(v) for v in uniform],
                   "uint32_seed5": [int(v) for v in np.random.RandomState(5).randint(0, 2**32, size=4, dtype=np.uint64)]}, f)

    cases = []
    for name, config in SCHEDULER_CASES:
        for kind in ["ddim", "pndm", "euler", "euler_ancestral"]:
            for steps in [1, 7, 20]:
                case = scheduler_fixture(kind, config, steps)
                case["config_name"] = name
                case["config"] = config
                cases.append(case)
    with open(os.path.join(out, "schedulers.json"), "w") as f:
        json.dump(cases, f)

    pipeline = Pipeline(model_dir, threads=1)
    images = []
    for index, (scheduler, guidance, negative) in enumerate([("pndm", 7.5, ""), ("ddim", 7.5, "blurry"), ("euler", 1.0, ""),
                                                              ("euler_ancestral", 5.0, "low quality")]):
        request = dict(prompt="a watercolor painting of a lighthouse at dawn", negative_prompt=negative, width=64, height=64,
                       steps=4, guidance=guidance, seed=42 + index, scheduler=scheduler)
        rgb = pipeline.generate(**request)
        name = f"tiny-{scheduler}.png"
        with open(os.path.join(out, name), "wb") as f:
            f.write(png_bytes(rgb))
        with open(os.path.join(out, name.replace(".png", ".rgb")), "wb") as f:
            f.write(rgb.tobytes())
        images.append(dict(request, png=name, rgb=name.replace(".png", ".rgb")))
    with open(os.path.join(out, "tiny-images.json"), "w") as f:
        json.dump({"model": model_fingerprint(model_dir), "threads": 1, "images": images}, f, indent=1)
    print(f"fixtures in {out}: {len(prompts())} prompts, {len(cases)} scheduler runs, {len(images)} images")


def model_fingerprint(model_dir):
    import hashlib

    digest = hashlib.sha256()
    for path in ["text_encoder/model.onnx", "unet/model.onnx", "unet/weights.pb", "vae_decoder/model.onnx"]:
        with open(os.path.join(model_dir, path), "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    generate = sub.add_parser("generate")
    generate.add_argument("model_dir")
    generate.add_argument("--prompt", required=True)
    generate.add_argument("--negative-prompt", default="")
    generate.add_argument("--width", type=int, default=64)
    generate.add_argument("--height", type=int, default=64)
    generate.add_argument("--steps", type=int, default=4)
    generate.add_argument("--guidance", type=float, default=7.5)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--scheduler", default=None)
    generate.add_argument("--threads", type=int, default=1)
    generate.add_argument("--out", required=True)
    fixtures = sub.add_parser("fixtures")
    fixtures.add_argument("model_dir")
    fixtures.add_argument("out_dir")
    bench = sub.add_parser("bench-steps")
    bench.add_argument("model_dir")
    bench.add_argument("--steps", type=int, default=5)
    bench.add_argument("--size", type=int, default=0, help="image size (default: sample_size * 8)")
    bench.add_argument("--scheduler", default="euler")
    bench.add_argument("--threads", type=int, default=0)
    bench.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    if args.command == "generate":
        rgb = Pipeline(args.model_dir, threads=args.threads).generate(
            args.prompt, args.negative_prompt, args.width, args.height, args.steps, args.guidance, args.seed, args.scheduler)
        with open(args.out, "wb") as f:
            f.write(png_bytes(rgb))
    elif args.command == "fixtures":
        write_fixtures(args.model_dir, args.out_dir)
    else:
        pipeline = Pipeline(args.model_dir, threads=args.threads)
        size = args.size
        if not size:
            with open(os.path.join(args.model_dir, "unet", "config.json")) as f:
                size = json.load(f)["sample_size"] * 8
        times = []
        pipeline.generate("warm up", width=size, height=size, steps=1, scheduler=args.scheduler)
        for repeat in range(args.repeats):
            run = []
            pipeline.generate("a lighthouse at dawn", width=size, height=size, steps=args.steps, scheduler=args.scheduler,
                              seed=repeat, step_times=run)
            times.extend(run[1:])  # like the Swift side, which times the steps after the first
        json.dump({"step_seconds": times, "size": size, "scheduler": args.scheduler, "threads": args.threads}, sys.stdout)
        print()


if __name__ == "__main__":
    main()
