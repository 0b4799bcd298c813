/**
 * The one shape of CHAP credentials, from derivation (agent) through the wire (AgentCredentials)
 * to the initiator's node record (node plugin). `username`/`password` are what the initiator
 * proves itself with; `mutual`, when set, is what the target must answer with (mutual CHAP), and
 * always differs from the initiator's secret (open-iscsi refuses equal ones).
 */
export interface ChapCredentials {
  readonly username: string;
  readonly password: string;
  readonly mutual?: { readonly username: string; readonly password: string };
}
