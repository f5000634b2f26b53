// The policy engine as the rest of the broker sees it (docs/policy.md).
export { CallerPolicy } from './caller-policy';
export { CompiledPolicy, DEFAULT_POLICY, compilePolicy, type PolicyExplanation } from './compiled-policy';
export { checkPolicy, type PolicyWarning } from './policy-check';
export { PolicyError, formatProblem, type PolicyProblem } from './policy-error';
export { readPolicyFile } from './policy-file';
export { PolicyHolder, type PolicyLog, type PolicyStatus } from './policy-holder';
export { POLICY_ACTIONS, type DecisionBasis, type FactRef, type GenerateRef, type PolicyAction, type PolicyDecision, type ReadableFact, type RuleRef } from './policy-types';
