// The policy engine as the rest of the broker sees it (docs/policy.md).
export { CallerPolicy } from './caller-policy';
export { CompiledPolicy, compilePolicy, DEFAULT_POLICY, type PolicyExplanation } from './compiled-policy';
export { checkPolicy, type PolicyWarning } from './policy-check';
export { formatProblem, PolicyError, type PolicyProblem } from './policy-error';
export { readPolicyFile } from './policy-file';
export { PolicyHolder, type PolicyLog, type PolicyStatus } from './policy-holder';
export {
  type DecisionBasis,
  type FactRef,
  type GenerateRef,
  POLICY_ACTIONS,
  type PolicyAction,
  type PolicyDecision,
  type ReadableFact,
  type RuleRef,
} from './policy-types';
