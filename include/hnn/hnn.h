/* libhnn: Hamiltonian neural networks in C99. The one header a program includes. */
#ifndef HNN_HNN_H
#define HNN_HNN_H

#include "hnn/version.h"
#include "hnn/core.h"
#include "hnn/net.h"
#include "hnn/loss.h"
#include "hnn/optim.h"
#include "hnn/data.h"
#include "hnn/trajectory.h"
#include "hnn/train.h"
#include "hnn/field.h"
#include "hnn/integrate.h"
#include "hnn/stepper.h"
#include "hnn/diag.h"
#include "hnn/model.h"
#include "hnn/dissipative.h"

#endif /* HNN_HNN_H */
