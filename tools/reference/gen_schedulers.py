"""Scheduler fixtures: UniPCMultistepScheduler (Wan's config) and FlowMatchEulerDiscreteScheduler.

Writes tests/fixtures/scheduler/:
  unipc_shift{3,5}/scheduler_config.json, euler_shift{3,5}/scheduler_config.json   (save_pretrained)
  schedules.safetensors  sigmas (F32 as held, F64 as computed before the cast) and timesteps for 1/2/10/50 steps
  steps.safetensors      seeded initial sample + seeded model outputs, every scheduler.step() output
"""
import os
import shutil
import sys

import numpy as np
import torch

from common import FIX, Manifest, save_safetensors, setup, write_json

STEPS = [1, 2, 10, 50]
SHIFTS = [3.0, 5.0]
SAMPLE_SHAPE = (1, 16, 2, 2, 2)


def unipc(shift):
    from diffusers import UniPCMultistepScheduler
    # Wan2.1-T2V diffusers scheduler: flow prediction + flow sigmas; everything else at its default
    # (solver_order 2, bh2, predict_x0, lower_order_final, final_sigmas_type "zero", 1000 train steps)
    return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=shift,
                                   num_train_timesteps=1000, solver_order=2, solver_type="bh2",
                                   lower_order_final=True, final_sigmas_type="zero", predict_x0=True,
                                   timestep_spacing="linspace")


def euler(shift):
    from diffusers import FlowMatchEulerDiscreteScheduler
    return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)


def unipc_sigmas_f64(n, shift, T=1000):
    """Our own float64 computation of UniPC flow sigmas (checked against the scheduler's float32)."""
    s = 1.0 - np.linspace(1.0, 1.0 / T, n + 1)
    s = np.flip(shift * s / (1.0 + (shift - 1.0) * s))[:-1].copy()
    return np.concatenate([s, [0.0]]), (s * T)


def euler_sigmas_f64(sched, n, shift, T=1000):
    t = np.linspace(sched.sigma_max * T, sched.sigma_min * T, n)
    s = t / T
    s = shift * s / (1.0 + (shift - 1.0) * s)
    return np.concatenate([s, [0.0]])


def main():
    setup(4)
    base = os.path.join(FIX, "scheduler")
    if os.path.isdir(base):
        shutil.rmtree(base)
    os.makedirs(base)
    m = Manifest("scheduler")
    sched_t = {}
    step_t = {}
    g = torch.Generator("cpu").manual_seed(4001)
    x_init = torch.randn(SAMPLE_SHAPE, generator=g, dtype=torch.float32)
    step_t["x_init"] = x_init
    max_steps = max(STEPS)
    model_outs = torch.randn((max_steps,) + SAMPLE_SHAPE, generator=g, dtype=torch.float32)
    step_t["model_outputs"] = model_outs

    for kind, make in (("unipc", unipc), ("euler", euler)):
        for shift in SHIFTS:
            tag = f"{kind}_shift{int(shift)}"
            sch = make(shift)
            cdir = os.path.join(base, tag)
            sch.save_pretrained(cdir)
            m.add(os.path.join(cdir, "scheduler_config.json"),
                  f"{type(sch).__name__} config (save_pretrained), shift {shift}", "exact")
            for n in STEPS:
                sch = make(shift)
                sch.set_timesteps(n, device="cpu")
                sig32 = sch.sigmas.clone()
                ts = sch.timesteps.clone()
                if kind == "unipc":
                    s64, t64 = unipc_sigmas_f64(n, shift)
                    assert torch.equal(torch.from_numpy(s64).to(torch.float32), sig32), (tag, n)
                    assert torch.equal(torch.from_numpy(t64).to(torch.int64), ts), (tag, n)
                else:
                    s64 = euler_sigmas_f64(sch, n, shift)
                    assert torch.equal(torch.from_numpy(s64).to(torch.float32), sig32), (tag, n)
                    assert torch.equal(sig32[:-1] * 1000, ts), (tag, n)
                sched_t[f"{tag}.n{n}.sigmas_f32"] = sig32.to(torch.float32)
                sched_t[f"{tag}.n{n}.sigmas_f64"] = torch.from_numpy(s64).to(torch.float64)
                sched_t[f"{tag}.n{n}.timesteps"] = ts

                # step-by-step
                sch = make(shift)
                sch.set_timesteps(n, device="cpu")
                x = x_init.clone()
                for i, t in enumerate(sch.timesteps):
                    mo = model_outs[i]
                    x = sch.step(mo, t, x, return_dict=False)[0]
                    step_t[f"{tag}.n{n}.step{i}.prev_sample"] = x.to(torch.float32).clone()
                    if kind == "unipc":
                        step_t[f"{tag}.n{n}.step{i}.x0_pred"] = sch.model_outputs[-1].to(torch.float32).clone()
                print(f"  {tag} n={n}: t={ts[:4].tolist()}... final |x| max {x.abs().max().item():.4f}")

    p1 = save_safetensors(os.path.join(base, "schedules.safetensors"), sched_t, "scheduler",
                          "sigmas and timesteps after set_timesteps(n)")
    p2 = save_safetensors(os.path.join(base, "steps.safetensors"), step_t, "scheduler",
                          "scheduler.step() outputs for seeded sample/model outputs",
                          {"sample_shape": list(SAMPLE_SHAPE)})
    m.add(p1, "sigmas/timesteps of UniPC (Wan config: flow_prediction, flow sigmas, order 2, bh2, lower_order_final, "
          "final sigma 0) and FlowMatchEulerDiscrete, shift 3 and 5, for 1/2/10/50 steps", "scheduler_1e-6",
          tensor_tolerance={"*.timesteps": "exact"}, tensors={
              "{unipc,euler}_shift{3,5}.n{1,2,10,50}.sigmas_f32": "F32 [n+1] scheduler.sigmas as held (last is 0)",
              "{...}.sigmas_f64": "F64 [n+1] the same computed in float64 before the float32 cast (numpy)",
              "unipc_*.timesteps": "I64 [n] scheduler.timesteps = int64(sigma_f64*1000) (truncation)",
              "euler_*.timesteps": "F32 [n] scheduler.timesteps = sigmas_f32[:-1]*1000 (float)",
          })
    m.add(p2, "every scheduler.step() output for a seeded initial sample [1,16,2,2,2] and seeded model outputs, "
          "UniPC and Euler, shift 3 and 5, 1/2/10/50 steps (fresh scheduler per run)", "scheduler_1e-6",
          tensor_tolerance={"x_init": "exact", "model_outputs": "exact"}, tensors={
              "x_init": "F32 [1,16,2,2,2] initial sample (randn, Generator seed 4001)",
              "model_outputs": "F32 [50,1,16,2,2,2] model output fed at step i is model_outputs[i]",
              "{tag}.n{n}.step{i}.prev_sample": "F32 [1,16,2,2,2] scheduler.step(model_outputs[i], timesteps[i], "
                                                "x)[0], x chained from x_init",
              "unipc_*.step{i}.x0_pred": "F32 [1,16,2,2,2] UniPC converted model output x0 = x - sigma*v "
                                         "(scheduler.model_outputs[-1] after the step)",
          })
    m.write()


if __name__ == "__main__":
    sys.exit(main())
