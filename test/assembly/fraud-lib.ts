// test/assembly/fraud-lib.ts: a test-only entry that exposes the compliance
// service's fraud model (services/compliance/assembly/fraud.ts) to
// JavaScript (test/unit/compliance-fraud.test.ts): the score and the
// version as the service computes them, and the shipped parameters
// (fraud-model.ts) so that the test can serialise and hash them again.

import { fraudModelVersion, fraudScore, FRAUD_FEATURES } from "../../services/compliance/assembly/fraud";
import {
  MODEL_BIAS_Q16, MODEL_TERMS, MODEL_WEIGHTS_Q16, SIGMOID_FROM_Q16, SIGMOID_MILLIONTHS, SIGMOID_POINTS, SIGMOID_STEP_SHIFT,
} from "../../services/compliance/assembly/fraud-model";

export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}
export function fraud_features(): u32 {
  return FRAUD_FEATURES;
}
export function fraud_score(features: usize): u32 {
  return fraudScore(features);
}
export function fraud_model_version(): u32 {
  return fraudModelVersion();
}
export function model_terms(): u32 {
  return MODEL_TERMS;
}
export function model_weight(i: u32): i32 {
  return MODEL_WEIGHTS_Q16[i];
}
export function model_bias(): i32 {
  return MODEL_BIAS_Q16;
}
export function sigmoid_points(): u32 {
  return SIGMOID_POINTS;
}
export function sigmoid_from(): i32 {
  return SIGMOID_FROM_Q16;
}
export function sigmoid_step_shift(): u32 {
  return SIGMOID_STEP_SHIFT;
}
export function sigmoid_point(i: u32): i32 {
  return SIGMOID_MILLIONTHS[i];
}
