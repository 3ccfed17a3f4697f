/* module rpc: see its headers */
typedef int tn_rpc_unit_nonempty;
